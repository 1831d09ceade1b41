package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerun/edgerun/internal/testenv"
)

// TestCompatStopAndRestartSignal: stop -s and restart -s send the given
// signal instead of the container's stop signal.
func TestCompatStopAndRestartSignal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	// sh as PID 1 ignores TERM without a trap; USR1 it traps ends it with 7.
	e.runD("--name", "trap", "--restart", "always", "busybox", "sh", "-c",
		"trap 'echo got USR1; exit 7' USR1; echo up; while :; do sleep 0.1; done")
	e.waitFor("trap", "up", func(r lifeRecord) bool { return r.State == "running" && strings.Contains(e.must("logs", "trap"), "up") })
	e.must("restart", "-s", "USR1", "-t", "20", "trap")
	if rec := e.inspectLife("trap"); rec.State != "running" || strings.Count(e.must("logs", "trap"), "got USR1") != 1 {
		t.Fatalf("restart -s USR1: %+v, logs %q; want it running again after one USR1", rec, e.must("logs", "trap"))
	}
	e.waitFor("trap", "up twice", func(lifeRecord) bool { return strings.Count(e.must("logs", "trap"), "up") == 2 })
	e.must("stop", "--signal", "SIGUSR1", "-t", "20", "trap")
	if rec := e.inspectLife("trap"); rec.State != "exited" || rec.ExitCode != 7 {
		t.Fatalf("stop --signal SIGUSR1: %+v, want exited with 7 (the trap's)", rec)
	}
	if r := e.run("stop", "-s", "NOSUCH", "trap"); r.code != 1 || r.stderr != "edgerun: unknown signal \"NOSUCH\": use a name like TERM, KILL, HUP or a number\n" {
		t.Errorf("stop -s NOSUCH: %s, want exit 1 and the reason", r)
	}
	e.must("rm", "trap")
}

// TestCompatLogsUntilAndExecEnvFile: logs --until ends the window (its end
// included); exec --env-file reads variables, -e wins over them.
func TestCompatLogsUntilAndExecEnvFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "talk", "busybox", "sh", "-c", "echo first; sleep 1; echo second; sleep 300")
	e.waitFor("talk", "two lines", func(lifeRecord) bool { return strings.Contains(e.must("logs", "talk"), "second") })
	stamped := strings.Fields(e.must("logs", "-t", "talk"))
	if len(stamped) != 4 {
		t.Fatalf("logs -t: %q, want two stamped lines", stamped)
	}
	if got := e.must("logs", "--until", stamped[0], "talk"); got != "first\n" {
		t.Errorf("logs --until %s (the first line's time): %q, want only the first line", stamped[0], got)
	}
	if got := e.must("logs", "--since", stamped[2], "--until", stamped[2], "talk"); got != "second\n" {
		t.Errorf("logs --since T --until T of the second line: %q, want it alone", got)
	}
	// -f with an --until already past prints the window and ends.
	if got := e.must("logs", "-f", "--until", time.Now().Add(-time.Hour).Format(time.RFC3339), "talk"); got != "" {
		t.Errorf("logs -f --until an hour ago: %q, want nothing", got)
	}
	if r := e.run("logs", "--until", "yesterday", "talk"); r.code != 1 || !strings.Contains(r.stderr, `--until "yesterday"`) {
		t.Errorf("logs --until yesterday: %s, want exit 1 and the reason", r)
	}

	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("# sensors\nA=1\nC=3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := e.must("exec", "--env-file", envFile, "-e", "C=4", "talk", "sh", "-c", "echo $A $C"); got != "1 4\n" {
		t.Errorf("exec --env-file with -e C=4: %q, want \"1 4\"", got)
	}
	e.must("rm", "-f", "talk")
}

// TestCompatInspectTemplatesOfImagesAndVolumes: image inspect -f and
// volume inspect -f run docker's templates; images REPOSITORY[:TAG] lists
// the matching names only.
func TestCompatInspectTemplatesOfImagesAndVolumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("tag", "busybox", "tools/box:1")
	id := strings.TrimSpace(e.must("image", "inspect", "-f", "{{.Id}}", "busybox"))
	if !strings.HasPrefix(id, "sha256:") || len(id) != 71 {
		t.Errorf("image inspect -f {{.Id}}: %q, want sha256:<64 hex>", id)
	}
	if got := e.must("image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", "tools/box:1"); !strings.HasPrefix(got, "linux/") {
		t.Errorf("image inspect --format {{.Os}}/{{.Architecture}}: %q", got)
	}
	e.must("volume", "create", "data")
	if got := e.must("volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "data"); got != "data local\n" {
		t.Errorf("volume inspect -f: %q, want \"data local\"", got)
	}
	if r := e.run("volume", "inspect", "-f", "{{.Name", "data"); r.code != 1 || !strings.Contains(r.stderr, "--format") {
		t.Errorf("volume inspect with a broken template: %s, want exit 1 naming --format", r)
	}
	if got := e.must("images", "-q", "tools/box"); strings.Count(got, "\n") != 1 {
		t.Errorf("images -q tools/box: %q, want one image", got)
	}
	if got := e.must("images", "--format", "{{.Repository}}:{{.Tag}}", "busybox:*"); got != "busybox:latest\n" {
		t.Errorf("images busybox:*: %q, want busybox:latest alone", got)
	}
	if got := e.must("images", "-q", "nosuch"); got != "" {
		t.Errorf("images nosuch: %q, want nothing", got)
	}
	e.must("volume", "rm", "data")
}

// TestCompatAddHostGateway: --add-host NAME:host-gateway names the address
// at which the container reaches the host; without a network it is refused.
func TestCompatAddHostGateway(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.loadBusybox()
	r := n.run("run", "--rm", "--network", "bridge", "--add-host", "host.docker.internal:host-gateway", "busybox",
		"sh", "-c", "grep host.docker.internal /etc/hosts; ip route | grep default")
	if r.code != 0 {
		t.Fatalf("run --add-host host.docker.internal:host-gateway: %s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("hosts line and default route: %q", r.stdout)
	}
	want := strings.Fields(lines[1])[2] // default via GW dev eth0: the bridge's gateway
	if testenv.Rootless() {
		want = "10.0.2.2" // the host's loopback, through slirp4netns
	}
	if got := strings.Fields(lines[0])[0]; got != want {
		t.Errorf("host-gateway is %s, want %s", got, want)
	}
	if r := n.run("run", "--rm", "--network", "none", "--add-host", "h:host-gateway", "busybox", "true"); r.code != 125 ||
		!strings.Contains(r.stderr, "no address that reaches the host") {
		t.Errorf("host-gateway without a network: %s", r)
	}
}
