package e2e

import (
	"github.com/edgerun/edgerun/internal/testenv"
	"strings"
	"testing"
)

func TestExecExitCodesEnvUserWorkdirAndStdin(t *testing.T) {
	testenv.SkipSingleID(t, "it switches to users other than root (TestRootlessUserOtherThanRootNeedsSubordinateIDs checks the refusal)")
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "box", "busybox", "sleep", "1000")
	for _, c := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"exec", "box", "sh", "-c", "exit 3"}, 3, "", ""},
		{[]string{"exec", "box", "sh", "-c", "kill -9 $$"}, 137, "", ""},
		{[]string{"exec", "box", "nosuch"}, 127, "", "not found"},
		{[]string{"exec", "box", "/etc/passwd"}, 126, "", "not an executable"},
		// Under /proc the command is looked up by the exec's own init, in the
		// container, not in the image: the same codes.
		{[]string{"exec", "box", "/proc/nosuch"}, 127, "", "no such file"},
		{[]string{"exec", "box", "/proc/1"}, 126, "", "is a directory"},
		{[]string{"exec", "-e", "FOO=bar", "-u", "1000:1000", "-w", "/tmp", "box", "sh", "-c", "echo $FOO $(id -u):$(id -g) $(pwd)"}, 0, "bar 1000:1000 /tmp\n", ""},
		// The exec'd process is in the container's PID namespace and cgroup.
		{[]string{"exec", "box", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"}, 0, "sleep 1000 ", ""},
		{[]string{"exec", "nosuch", "true"}, 1, "", "no such container"},
		{[]string{"exec", "-w", "relative", "box", "true"}, 1, "", "absolute"},
	} {
		r := e.run(c.args...)
		if r.code != c.code || !strings.Contains(r.stdout, c.stdout) || !strings.Contains(r.stderr, c.stderr) {
			t.Errorf("edgerun %s: want exit %d, stdout %q, stderr with %q; got %s", strings.Join(c.args, " "), c.code, c.stdout, c.stderr, r)
		}
	}
	if r := e.runIn([]byte("hello\n"), "exec", "-i", "box", "cat"); r.code != 0 || r.stdout != "hello\n" {
		t.Errorf("exec -i with stdin: %s", r)
	}
	pid := e.inspectLife("box").Pid
	cg := e.must("exec", "box", "cat", "/proc/self/cgroup")
	if want := strings.TrimSpace(e.must("exec", "box", "cat", "/proc/1/cgroup")); strings.TrimSpace(cg) != want {
		t.Errorf("exec'd process in cgroups\n%s\nwant the container's (pid %d)\n%s", cg, pid, want)
	}
	e.must("stop", "-t", "0", "box")
	if r := e.run("exec", "box", "true"); r.code != 1 || !strings.Contains(r.stderr, "not running") {
		t.Errorf("exec into a stopped container: want exit 1, not running: %s", r)
	}
	e.must("rm", "box")
}
