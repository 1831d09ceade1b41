package e2e

import (
	"github.com/edgerun/edgerun/internal/testenv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestRunPassesStdinWithInteractive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	r := e.runIn([]byte("line one\nline two\n"), "run", "--rm", "-i", "busybox", "wc", "-l")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "2" {
		t.Errorf("run -i with two lines on stdin: %s", r)
	}
}

func TestRunHostnameAndAddHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	out := e.must("run", "--rm", "-h", "gw-7", "--add-host", "broker:10.1.2.3", "busybox", "sh", "-c",
		"hostname; cat /etc/hostname; grep broker /etc/hosts; cat /etc/resolv.conf")
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || lines[0] != "gw-7" || lines[1] != "gw-7" || !strings.Contains(lines[2], "10.1.2.3") {
		t.Errorf("-h gw-7 --add-host broker:10.1.2.3:\n%s", out)
	}
	for _, l := range lines {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "nameserver" && strings.HasPrefix(f[1], "127.") {
			t.Errorf("resolv.conf has a loopback nameserver: %q", l)
		}
	}
}

func TestRunAppliesUlimitSysctlAndOOMScore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	out := e.must("run", "--rm", "--ulimit", "nofile=100:200", "--sysctl", "net.ipv4.ip_forward=1",
		"--oom-score-adj", "500", "busybox", "sh", "-c",
		"ulimit -n; ulimit -Hn; cat /proc/sys/net/ipv4/ip_forward; cat /proc/self/oom_score_adj")
	if got := strings.Fields(out); strings.Join(got, " ") != "100 200 1 500" {
		t.Errorf("ulimit/sysctl/oom-score-adj seen inside: %q, want 100 200 1 500", got)
	}
	if r := e.run("run", "--rm", "--sysctl", "vm.swappiness=1", "busybox", "true"); r.code != 125 {
		t.Errorf("--sysctl of a host-wide parameter: want refusal with 125, got %s", r)
	}
}

// TestRunRefusesWhatTheKernelWouldRefuseUpFront: values that used to pass
// validation and fail in libcontainer once the container existed (126 for
// the ulimits) exit 125 with edgerun's own message; newEnv's cleanup
// checks that no container state, cgroup or mount is left.
func TestRunRefusesWhatTheKernelWouldRefuseUpFront(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		t.Fatal(err)
	}
	nrOpen, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	envFile := filepath.Join(e.base, "nul.env")
	if err := os.WriteFile(envFile, []byte("A=1\nB=x\x00y\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--ulimit", "nofile=" + strconv.FormatUint(nrOpen+1, 10)}, "(fs.nr_open)"},
		{[]string{"--ulimit", "nofile=1024:-1"}, "(fs.nr_open), not unlimited"},
		{[]string{"--sysctl", "net.ipv4/../../kernel/x=1"}, "is not a sysctl name"},
		{[]string{"--env-file", envFile}, envFile + ": invalid run option: env file line 2 contains a NUL byte"},
	} {
		r := e.run(append(append([]string{"run", "--rm"}, tc.flags...), "busybox", "true")...)
		if r.code != 125 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("run %v: want 125 and %q, got %s", tc.flags, tc.want, r)
		}
	}
}

func TestMemoryAndCpusetLimitsAreInTheCgroup(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, limitsWhy)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	type limit struct{ controller, v1, v2, want string }
	limits := []limit{{"memory", "memory.limit_in_bytes", "memory.max", "67108864"}, {"pids", "pids.max", "pids.max", "33"}}
	args := []string{"run", "--name", "lim", "--memory", "64m", "--pids-limit", "33"}
	// systemd's default delegation has no cpuset (TestRootlessLimitOfAnUndelegatedControllerIsRefused).
	if !testenv.Rootless() || delegatedHas(t, "cpuset") {
		limits = append(limits, limit{"cpuset", "cpuset.cpus", "cpuset.cpus", "0"})
		args = append(args, "--cpuset-cpus", "0")
	}
	b := e.start(append(args, "busybox", "sh", "-c", "echo ready; while true; do sleep 1; done")...)
	b.waitLine(t, "ready")
	pid := e.inspect("lim").Pid
	for _, c := range limits {
		dir, v2 := cgroupDir(t, pid, c.controller)
		file := filepath.Join(dir, c.v1)
		if v2 {
			file = filepath.Join(dir, c.v2)
		}
		if got, err := os.ReadFile(file); err != nil || strings.TrimSpace(string(got)) != c.want {
			t.Errorf("%s = %q (%v), want %s", file, got, err, c.want)
		}
	}
	e.must("rm", "-f", "lim")
	b.wait(t)
}

func TestDuplicateNameIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("run", "--name", "one", "busybox", "true")
	r := e.run("run", "--name", "one", "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "one") {
		t.Errorf("second container named one: want 125 naming it, got %s", r)
	}
	e.must("rm", "one")
}

func TestConcurrentRunsInOneStateAllSucceed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	var wg sync.WaitGroup
	results := make([]result, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.run("run", "--rm", "busybox", "sh", "-c", "exit "+string(rune('0'+i)))
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != i {
			t.Errorf("concurrent run %d: want exit %d, got %s", i, i, r)
		}
	}
}

func TestContainerOrphanedByKilledEdgerunCanBeRemoved(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	b := e.start("run", "--name", "orphan", "busybox", "sh", "-c", "echo ready; while true; do sleep 1; done")
	b.waitLine(t, "ready")
	pid := e.inspect("orphan").Pid
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-b.done
	// The container outlives its foreground edgerun; rm -f must still
	// find and stop it, and leave nothing (assertClean).
	r := e.run("rm", "-f", "orphan")
	if r.code != 0 {
		t.Errorf("rm -f of a container whose edgerun was killed: %s", r)
	}
	if alive(pid) {
		t.Errorf("container process %d still runs after rm -f", pid)
	}
}

// alive reports whether pid is a live process (not gone, not a zombie),
// giving a just-killed process a moment to die.
func alive(pid int) bool {
	for i := 0; i < 50; i++ {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			return false
		}
		if f := strings.Fields(string(b)); len(f) > 2 && (f[2] == "Z" || f[2] == "X") {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}
