package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string // a part of the error message, when edgerun fails
	}{
		{"success exits 0", []string{"true"}, 0, ""},
		{"container code 3 is passed on", []string{"sh", "-c", "exit 3"}, 3, ""},
		{"missing command exits 127", []string{"/no/such/command"}, 127, "/no/such/command"},
		{"missing command in PATH exits 127", []string{"nosuchcommand"}, 127, "nosuchcommand"},
		{"file that is not executable exits 126", []string{"/etc/passwd"}, 126, "/etc/passwd"},
		{"directory as command exits 126", []string{"/etc"}, 126, "/etc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run(append([]string{"run", "--rm", "busybox"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("want exit %d, got %s", tc.code, r)
			}
			if tc.stderr != "" && !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr does not name %q: %s", tc.stderr, r.stderr)
			}
		})
	}
}

func TestRunExitCode137AfterSIGKILL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	b := e.start("run", "--name", "victim", "busybox", "sh", "-c", "echo ready; while true; do sleep 1; done")
	b.waitLine(t, "ready")
	rec := e.inspect("victim")
	if rec.State != "running" || rec.Pid <= 0 {
		t.Fatalf("inspect of a running container: %+v", rec)
	}
	if err := syscall.Kill(rec.Pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill container pid %d: %v", rec.Pid, err)
	}
	if code, _ := b.wait(t); code != 137 {
		t.Errorf("want exit 137 after SIGKILL, got %d; stderr: %s", code, b.stderr.String())
	}
	if rec := e.inspect("victim"); rec.State != "exited" || rec.ExitCode != 137 {
		t.Errorf("after SIGKILL inspect says state %s exit %d, want exited 137", rec.State, rec.ExitCode)
	}
	e.must("rm", "victim")
}

func TestForegroundContainerReceivesForwardedSIGTERM(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	// SIGTERM first (the case), then the other signals edgerun
	// forwards; each trap exits with its own code.
	for i, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2} {
		name := strings.TrimPrefix(unix.SignalName(sig), "SIG")
		want := 10 + i
		b := e.start("run", "--rm", "busybox", "sh", "-c",
			fmt.Sprintf(`trap "echo got-%s; exit %d" %s; echo ready; while true; do sleep 0.1; done`, name, want, name))
		b.waitLine(t, "ready")
		if err := b.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		code, rest := b.wait(t)
		if code != want || !strings.Contains(rest, "got-"+name) {
			t.Errorf("SIG%s: want got-%s and exit %d, got exit %d, stdout %q, stderr %s", name, name, want, code, rest, b.stderr.String())
		}
	}
}

func TestRemovedContainerLeavesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("run", "--rm", "--name", "gone", "busybox", "true")
	if r := e.run("inspect", "gone"); r.code == 0 {
		t.Errorf("inspect of a --rm container after exit succeeded: %s", r)
	}
	if out := e.must("ps", "-a", "--format", "json"); strings.TrimSpace(out) != "" {
		t.Errorf("ps -a after --rm lists containers: %s", out)
	}
	// The name is free again.
	e.must("run", "--rm", "--name", "gone", "busybox", "true")
	// assertClean checks mounts, cgroups, records, names and libcontainer state.
}

func TestRemovedContainerLeavesNoLockFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("run", "--rm", "busybox", "true")
	e.must("run", "--name", "kept", "busybox", "true")
	e.must("rm", "kept")
	e.mu.Lock()
	defer e.mu.Unlock()
	for id := range e.ids {
		for _, f := range entries(e.state + "/locks") {
			if strings.HasPrefix(f, id) {
				t.Errorf("lock file %s/locks/%s of removed container %s is left in the volatile state", e.state, f, id)
			}
		}
	}
}

func TestExitedContainerIsListedWithItsCode(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	if r := e.run("run", "--name", "stays", "busybox", "sh", "-c", "exit 42"); r.code != 42 {
		t.Fatalf("want exit 42, got %s", r)
	}
	if out := e.must("ps"); strings.Contains(out, "stays") {
		t.Errorf("ps without -a lists the exited container:\n%s", out)
	}
	out := e.must("ps", "-a")
	if !strings.Contains(out, "stays") || !strings.Contains(out, "Exited (42)") {
		t.Errorf("ps -a does not list stays as Exited (42):\n%s", out)
	}
	if rec := e.inspect("stays"); rec.State != "exited" || rec.ExitCode != 42 || rec.Image != "busybox" {
		t.Errorf("inspect: %+v", rec)
	}
	e.must("rm", "stays")
	if r := e.run("inspect", "stays"); r.code == 0 {
		t.Errorf("inspect after rm succeeded: %s", r)
	}
}

func TestSensorImagePrintsAReading(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.must("load", "-i", imagePath(t, "sensor"))
	start := time.Now()
	r := e.run("run", "--rm", "sensor")
	if r.code != 0 || strings.TrimSpace(r.stdout) == "" {
		t.Fatalf("run --rm sensor: %s", r)
	}
	t.Logf("sensor printed %q in %v", strings.TrimSpace(r.stdout), time.Since(start))
}
