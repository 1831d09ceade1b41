package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/internal/testenv"
)

// Tests of the rows of docs/cli.md's Docker compatibility table that no
// other test proved: each drives the binary and checks what the flag does,
// several flags per container where they do not interfere.

// TestCompatRunFlags: run flags seen from inside the container, one
// foreground run each.
func TestCompatRunFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	var imgs []struct{ Name, Platform string }
	if err := json.Unmarshal([]byte(e.must("images", "--format", "json")), &imgs); err != nil || len(imgs) != 1 {
		t.Fatalf("images --format json: %v %+v", err, imgs)
	}
	for _, tc := range []struct {
		name  string
		flags []string
		args  []string // after the image
		want  string
		skip  func(*testing.T)
	}{
		// docker's 14 capabilities (a80425fb) without CHOWN (bit 0) and NET_RAW (bit 13)
		{"cap-drop", []string{"--cap-drop", "NET_RAW", "--cap-drop", "CAP_CHOWN"},
			[]string{"grep", "^CapEff:", "/proc/self/status"}, "CapEff:\t00000000a80405fa\n", nil},
		{"dns", []string{"--dns", "192.0.2.53", "--dns-search", "corp.example", "--dns-option", "ndots:2"},
			[]string{"cat", "/etc/resolv.conf"}, "nameserver 192.0.2.53\nsearch corp.example\noptions ndots:2\n", nil},
		{"entrypoint", []string{"--entrypoint", "echo"}, []string{"hello", "world"}, "hello world\n", nil},
		{"group-add", []string{"--group-add", "123", "--group-add", "nobody"}, []string{"id", "-G"}, "0 123 65534\n",
			func(t *testing.T) { testenv.SkipSingleID(t, "it adds groups other than root's") }},
		{"security-opt no-new-privileges:false", []string{"--security-opt", "no-new-privileges:false"},
			[]string{"grep", "^NoNewPrivs:", "/proc/self/status"}, "NoNewPrivs:\t0\n", nil},
		{"platform of the stored image", []string{"--platform", imgs[0].Platform}, []string{"echo", "ok"}, "ok\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip != nil {
				tc.skip(t)
			}
			args := append(append(append([]string{"run", "--rm"}, tc.flags...), "busybox"), tc.args...)
			if r := e.run(args...); r.code != 0 || r.stdout != tc.want {
				t.Errorf("run %s: %s\nwant stdout %q", strings.Join(tc.flags, " "), r, tc.want)
			}
		})
	}
	// A name holds one platform: another one is refused before anything runs.
	if r := e.run("run", "--rm", "--platform", "linux/s390x", "--pull", "never", "busybox", "true"); r.code != 125 ||
		!strings.Contains(r.stderr, "is stored for "+imgs[0].Platform+", not linux/s390x") {
		t.Errorf("run --platform linux/s390x: %s", r)
	}

	// The health flags as inspect shows them (TestHealth* run the checks).
	e.noteID(strings.TrimSpace(e.must("create", "--name", "hc", "--health-cmd", "true", "--health-interval", "2s",
		"--health-timeout", "3s", "--health-retries", "4", "--health-start-period", "5s", "--health-start-interval", "500ms",
		"busybox", "true")))
	got := e.must("inspect", "-f", "{{json .Config.Healthcheck}}", "hc")
	if want := `{"Interval":2000000000,"Retries":4,"StartInterval":500000000,"StartPeriod":5000000000,"Test":["CMD-SHELL","true"],"Timeout":3000000000}` + "\n"; got != want {
		t.Errorf("the health flags in inspect: %s, want %s", got, want)
	}
	e.must("rm", "hc")
}

// TestCompatStopSignalAndStopTimeout: stop sends --stop-signal, and kills
// a container that ignores it after --stop-timeout.
func TestCompatStopSignalAndStopTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "sig", "--stop-signal", "USR1", "--stop-timeout", "1", "busybox", "sh", "-c",
		`trap 'echo got USR1; exit 3' USR1; echo ready; while true; do sleep 0.1; done`)
	e.runD("--name", "deaf", "--stop-signal", "USR1", "--stop-timeout", "1", "busybox", "sh", "-c",
		`trap '' USR1; echo ready; while true; do sleep 0.1; done`)
	e.waitLogs("sig", "ready\n")
	e.waitLogs("deaf", "ready\n")
	for _, name := range []string{"sig", "deaf"} {
		if got := e.must("inspect", "-f", "{{.Config.StopSignal}} {{.Config.StopTimeout}}", name); got != "USR1 1\n" {
			t.Errorf("inspect %s: stop signal and timeout %q, want USR1 1", name, got)
		}
	}
	e.must("stop", "sig", "deaf")
	if rec := e.inspectLife("sig"); rec.ExitCode != 3 || !strings.Contains(e.must("logs", "sig"), "got USR1") {
		t.Errorf("stop of a container with --stop-signal USR1: exit %d, logs %q; want exit 3 after got USR1", rec.ExitCode, e.must("logs", "sig"))
	}
	if rec := e.inspectLife("deaf"); rec.ExitCode != 137 {
		t.Errorf("stop of a container that ignores its stop signal: exit %d, want 137 (SIGKILL)", rec.ExitCode)
	}
	e.must("rm", "sig", "deaf")
}

// TestCompatRunLimitFlags: --cpu-shares and --memory-swap in the
// container's cgroup.
func TestCompatRunLimitFlags(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, limitsWhy)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	args := []string{"run", "--name", "lim", "--cpu-shares", "512"}
	// cgroup v1 without swap accounting refuses --memory-swap (as it should).
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	v1NoSwap := err != nil && !fileExists("/sys/fs/cgroup/cgroup.controllers")
	if !v1NoSwap {
		args = append(args, "--memory", "64m", "--memory-swap", "128m")
	}
	b := e.start(append(args, "busybox", "sh", "-c", "echo ready; while true; do sleep 1; done")...)
	b.waitLine(t, "ready")
	pid := e.inspect("lim").Pid
	read := func(dir, file string) string {
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Error(err)
		}
		return strings.TrimSpace(string(got))
	}
	// v2's cpu.weight is a conversion of the shares (runc's): not the default.
	if dir, v2 := cgroupDir(t, pid, "cpu"); !v2 && read(dir, "cpu.shares") != "512" {
		t.Errorf("cpu.shares = %s, want 512", read(dir, "cpu.shares"))
	} else if v2 && (read(dir, "cpu.weight") == "100" || read(dir, "cpu.weight") == "") {
		t.Errorf("cpu.weight = %q with --cpu-shares 512, want other than the default 100", read(dir, "cpu.weight"))
	}
	if !v1NoSwap {
		dir, v2 := cgroupDir(t, pid, "memory")
		file, want := "memory.memsw.limit_in_bytes", "134217728" // memory plus swap
		if v2 {
			file, want = "memory.swap.max", "67108864" // swap alone
		}
		if got := read(dir, file); got != want {
			t.Errorf("%s = %s with --memory 64m --memory-swap 128m, want %s", file, got, want)
		}
	}
	e.must("rm", "-f", "lim")
	b.wait(t)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestCompatRunPublishAllIPAndNetworkPrune: -P publishes the image's
// exposed port on a free host port, --ip fixes the address, and network
// prune removes the bridge once no container uses it.
func TestCompatRunPublishAllIPAndNetworkPrune(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.must("load", "-i", imagePath(t, "sensor"))
	ip := strings.TrimSuffix(n.subnet, "0/24") + "77"
	if r := n.run("run", "-d", "--name", "web", "--network", "bridge", "-P", "--ip", ip, "sensor", "serve"); r.code != 0 {
		t.Fatalf("run -P --ip: %s", r)
	}
	r := n.run("port", "web")
	m := regexp.MustCompile(`^8080/tcp -> 0\.0\.0\.0:(\d+)\n$`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("port of a container run with -P: %s, want 8080/tcp on a host port", r)
	}
	if _, err := getReading("http://127.0.0.1:" + m[1] + "/reading"); err != nil {
		t.Errorf("the port -P published does not answer: %v", err)
	}
	if r := n.run("inspect", "-f", "{{.NetworkSettings.IPAddress}}", "web"); r.stdout != ip+"\n" {
		t.Errorf("inspect of a container run with --ip %s: %s", ip, r)
	}
	// As docker's, a prune skips a network in use, and does not fail.
	if r := n.run("network", "prune"); r.code != 0 || strings.Contains(r.stdout, n.bridge) {
		t.Errorf("network prune while a container uses the bridge: %s, want exit 0 and the bridge kept", r)
	}
	if _, err := getReading("http://127.0.0.1:" + m[1] + "/reading"); err != nil {
		t.Errorf("the published port after a network prune: %v", err)
	}
	if r := n.run("rm", "-f", "web"); r.code != 0 {
		t.Fatalf("rm -f web: %s", r)
	}
	if r := n.run("network", "prune"); r.code != 0 {
		t.Errorf("network prune: %s", r)
	}
	if !testenv.Rootless() { // rootless, the bridge is in the user's session
		if _, err := os.Stat(filepath.Join("/sys/class/net", n.bridge)); err == nil {
			t.Errorf("bridge %s is left after network prune", n.bridge)
		}
	}
}

// TestCompatPsSizeAndExecTTY: ps -s measures the writable layer; exec -t
// gives the command a terminal.
func TestCompatPsSizeAndExecTTY(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "box", "busybox", "sh", "-c", "head -c 300000 /dev/zero > /big; echo ready; sleep 300")
	e.waitLogs("box", "ready\n")
	// The writable layer: the overlay's upper dir (300 kB and a little), or
	// the copied root file system (rootless without overlay: 1.4 MB).
	size := regexp.MustCompile(`^box ([0-9.]+)(kB|MB) \(virtual [0-9.]+MB\)\n$`)
	got := e.must("ps", "-s", "--format", "{{.Names}} {{.Size}}")
	m := size.FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("ps -s: %q, want box's size and its virtual size", got)
	}
	if n, _ := strconv.ParseFloat(m[1], 64); (m[2] == "kB" && n < 300) || (m[2] == "MB" && n > 10) {
		t.Errorf("ps -s: %q, want box's 300 kB written (and its copied root file system, if copied)", got)
	}
	if got = e.must("ps", "--size"); !strings.Contains(strings.Split(got, "\n")[0], "SIZE") {
		t.Errorf("ps --size: no SIZE column:\n%s", got)
	}
	if r := e.run("exec", "-t", "box", "sh", "-c", "test -t 0 && test -t 1 && echo tty"); r.code != 0 || strings.TrimSpace(r.stdout) != "tty" {
		t.Errorf("exec -t: %s, want a terminal for stdin and stdout", r)
	}
	if r := e.run("exec", "box", "sh", "-c", "test -t 1 || echo no tty"); strings.TrimSpace(r.stdout) != "no tty" {
		t.Errorf("exec without -t: %s, want no terminal", r)
	}
	e.must("rm", "-f", "box")
}

// TestCompatImageVerbs: load -q and --platform, images -q, tag, and the
// image group's long forms.
func TestCompatImageVerbs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if out := e.must("load", "-q", "-i", imagePath(t, "busybox")); out != "" {
		t.Errorf("load -q printed %q", out)
	}
	id := strings.TrimPrefix(e.imageID("busybox"), "sha256:")
	if got := e.must("images", "-q"); got != id[:12]+"\n" {
		t.Errorf("images -q: %q, want %s", got, id[:12])
	}
	e.must("tag", "busybox", "bb:2")
	e.must("image", "tag", "bb:2", "bb:3")
	if got := e.must("image", "ls", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"); got != fmt.Sprintf("bb:2 %[1]s\nbb:3 %[1]s\nbusybox:latest %[1]s\n", id[:12]) {
		t.Errorf("image ls after tag and image tag:\n%s", got)
	}
	archive := filepath.Join(e.base, "bb.tar")
	e.must("image", "save", "-o", archive, "bb:3")
	e.must("image", "rm", "bb:3")
	if got := e.must("image", "load", "-i", archive); got != "Loaded image: bb:3\n" {
		t.Errorf("image load: %q", got)
	}
	if got := e.must("image", "history", "-q", "bb:3"); !strings.HasPrefix(got, id[:12]+"\n") {
		t.Errorf("image history -q: %q", got)
	}
	e.must("rmi", "bb:2", "bb:3")

	// load --platform: the one platform asked for, from a multi-platform image.
	e.must("load", "-q", "--platform", "linux/arm64", "--name", "sensor-arm64:1", "-i", imagePath(t, "sensor"))
	var imgs []struct{ Name, Platform string }
	if err := json.Unmarshal([]byte(e.must("images", "--format", "json")), &imgs); err != nil {
		t.Fatal(err)
	}
	for _, im := range imgs {
		if strings.Contains(im.Name, "sensor") && im.Platform != "linux/arm64" {
			t.Errorf("load --platform linux/arm64 stored %s for %s", im.Platform, im.Name)
		}
	}
}

// TestCompatVolumeVerbs: volume ls -q and volume inspect.
func TestCompatVolumeVerbs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.must("volume", "create", "data")
	e.must("volume", "create", "logs")
	if got := e.must("volume", "ls", "-q"); got != "data\nlogs\n" {
		t.Errorf("volume ls -q: %q", got)
	}
	var vols []struct{ Name, Driver, Mountpoint string }
	if err := json.Unmarshal([]byte(e.must("volume", "inspect", "data")), &vols); err != nil || len(vols) != 1 ||
		vols[0].Name != "data" || vols[0].Driver != "local" || vols[0].Mountpoint != filepath.Join(e.root, "volumes", "data", "_data") {
		t.Errorf("volume inspect data: %+v (%v)", vols, err)
	}
	e.must("volume", "rm", "data", "logs")
}
