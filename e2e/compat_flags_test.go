package e2e

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/internal/testenv"
)

func TestInfoFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	live := e.runD("--name", "live", "busybox", "sleep", "300")
	e.must("run", "--name", "done", "busybox", "true")

	out := strings.TrimSpace(e.must("info", "--format", "{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}} {{.Images}} {{.Driver}} {{.OSType}}"))
	if out != "2 1 0 1 1 overlay linux" {
		t.Errorf("info --format: %q, want \"2 1 0 1 1 overlay linux\"", out)
	}
	var doc struct {
		DockerRootDir, KernelVersion, Architecture, CgroupDriver, ServerVersion string
		NCPU                                                                    int
		MemTotal                                                                int64
		SecurityOptions                                                         []string
		Edgerun                                                                 struct {
			StateDir string
			Rootless bool
		}
	}
	if err := json.Unmarshal([]byte(e.must("system", "info", "--format", "json")), &doc); err != nil {
		t.Fatal(err)
	}
	release, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	switch {
	case doc.DockerRootDir != e.root || doc.Edgerun.StateDir != e.state:
		t.Errorf("info: root %q state %q, want %q and %q", doc.DockerRootDir, doc.Edgerun.StateDir, e.root, e.state)
	case doc.KernelVersion != strings.TrimSpace(string(release)):
		t.Errorf("info: kernel %q, want %q", doc.KernelVersion, release)
	case doc.NCPU < 1 || doc.MemTotal <= 0 || doc.Architecture == "" || doc.CgroupDriver != "cgroupfs" || doc.ServerVersion == "":
		t.Errorf("info: %+v", doc)
	case doc.Edgerun.Rootless != testenv.Rootless() || slices.Contains(doc.SecurityOptions, "name=rootless") != testenv.Rootless():
		t.Errorf("info: rootless %v, security options %v; this tier is rootless: %v", doc.Edgerun.Rootless, doc.SecurityOptions, testenv.Rootless())
	}
	text := e.must("info")
	for _, want := range []string{"Containers: 2\n Running: 1\n Paused: 0\n Stopped: 1\n", "Images: 1\n", "Storage Driver: overlay\n", "Edgerun Root Dir: " + e.root} {
		if !strings.Contains(text, want) {
			t.Errorf("info prints\n%s\nwithout %q", text, want)
		}
	}
	if r := e.run("info", "--format", "{{.Nope}}"); r.code != 1 || !strings.Contains(r.stderr, `map has no entry for key "Nope"`) {
		t.Errorf("info with a missing field: %s", r)
	}
	e.must("rm", "-f", live, "done")
}

func TestShmSizeSetsDevShm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	shm := func(args ...string) string {
		t.Helper()
		args = append(append([]string{"run", "--rm"}, args...), "busybox", "sh", "-c", "df -k /dev/shm | tail -n 1")
		return strings.Fields(e.must(args...))[1] // the 1K-blocks column
	}
	if got := shm("--shm-size", "16m"); got != "16384" {
		t.Errorf("--shm-size 16m: /dev/shm has %s KiB, want 16384", got)
	}
	if got := shm(); got != "65536" {
		t.Errorf("no --shm-size: /dev/shm has %s KiB, want docker's 64m (65536)", got)
	}
	for _, bad := range []string{"-1", "lots", "16q"} {
		if r := e.run("run", "--rm", "--shm-size", bad, "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "--shm-size") {
			t.Errorf("--shm-size %s: %s, want exit 125 saying --shm-size", bad, r)
		}
	}
	if out := e.must("ps", "-aq"); out != "" {
		t.Errorf("a refused --shm-size left containers: %q", out)
	}
	e.must("create", "--name", "c", "--shm-size", "1g", "busybox", "true")
	if got := strings.TrimSpace(e.must("inspect", "-f", "{{.HostConfig.ShmSize}}", "c")); got != "1073741824" {
		t.Errorf("inspect's HostConfig.ShmSize %s, want 1073741824", got)
	}
	e.must("rm", "c")
}

func TestExposeShowsInInspect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("create", "--name", "c", "--expose", "8080", "--expose", "5000-5001/udp", "busybox", "true")
	var ports map[string]any
	if err := json.Unmarshal([]byte(e.must("inspect", "-f", "{{json .Config.ExposedPorts}}", "c")), &ports); err != nil {
		t.Fatal(err)
	}
	got := make([]string, 0, len(ports))
	for k := range ports {
		got = append(got, k)
	}
	slices.Sort(got)
	if want := []string{"5000/udp", "5001/udp", "8080/tcp"}; !slices.Equal(got, want) {
		t.Errorf("Config.ExposedPorts %v, want %v", got, want)
	}
	// Exposing publishes nothing.
	if got := strings.TrimSpace(e.must("inspect", "-f", "{{json .HostConfig.PortBindings}}", "c")); got != "{}" {
		t.Errorf("HostConfig.PortBindings %s, want none", got)
	}
	for _, bad := range []string{"0", "80/sctp", "9-1", "http"} {
		if r := e.run("create", "--expose", bad, "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "--expose") {
			t.Errorf("--expose %s: %s, want exit 125 saying --expose", bad, r)
		}
	}
	if out := strings.Fields(e.must("ps", "-aq")); len(out) != 1 {
		t.Errorf("refused --expose values left containers: %v", out)
	}
	e.must("rm", "c")
}

// update starts the replacement from the saved request: what --shm-size
// and --expose asked for stays.
func TestUpdateKeepsShmSizeAndExpose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "svc", "--shm-size", "8m", "--expose", "7000", "busybox", "sleep", "300")
	if r := e.run("update", "--image", "busybox", "--force", "--update-wait", "300ms", "--pull", "never", "svc"); r.code != 0 {
		t.Fatalf("update: %s", r)
	}
	got := strings.TrimSpace(e.must("inspect", "-f", "{{.HostConfig.ShmSize}} {{json .Config.ExposedPorts}}", "svc"))
	if got != `8388608 {"7000/tcp":{}}` {
		t.Errorf("after update: %s, want the shm size and the exposed port kept", got)
	}
	if kb := strings.Fields(e.must("exec", "svc", "sh", "-c", "df -k /dev/shm | tail -n 1"))[1]; kb != "8192" {
		t.Errorf("after update /dev/shm has %s KiB, want 8192", kb)
	}
	e.must("rm", "-f", "svc")
}

func TestLogsDetails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "talk", "busybox", "sh", "-c", "echo out; echo err >&2; sleep 300")
	e.waitLogs("talk", "out")
	// docker puts a line's attributes and a space before it; edgerun's
	// lines have none, so the space alone.
	r := e.run("logs", "--details", "talk")
	if r.code != 0 || r.stdout != " out\n" || r.stderr != " err\n" {
		t.Errorf("logs --details: %s, want \" out\" and \" err\"", r)
	}
	r = e.run("logs", "--details", "-t", "talk")
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\S+Z  out\n$`).MatchString(r.stdout) {
		t.Errorf("logs --details -t: stdout %q, want TIME, two spaces, out", r.stdout)
	}
	if r := e.run("logs", "talk"); r.stdout != "out\n" {
		t.Errorf("logs without --details: %q", r.stdout)
	}
	e.must("rm", "-f", "talk")
}
