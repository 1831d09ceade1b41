package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgerun/edgerun/internal/testenv"
)

func TestMemoryLimitOOMKillsAHog(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, limitsWhy)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	r := e.run("run", "--name", "hog", "--memory", "16m", "busybox", "sh", "-c", `x=a; while true; do x=$x$x; done`)
	if r.code != 137 {
		t.Errorf("want exit 137 from the OOM kill, got %s", r)
	}
	if rec := e.inspect("hog"); !rec.OOMKilled || rec.ExitCode != 137 || rec.State != "exited" {
		t.Errorf("inspect after the OOM kill: %+v, want oomKilled true, exit 137", rec)
	}
	if out := e.must("ps", "-a"); !strings.Contains(out, "OOM") {
		t.Errorf("ps -a does not say the container was OOM killed:\n%s", out)
	}
	e.must("rm", "hog")
}

func TestPidsLimitStopsAForkBomb(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, limitsWhy)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	// 60 background sleeps cannot fit in 20 pids: a fork fails, busybox sh
	// gives up, and the container ends instead of filling the host.
	r := e.run("run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c",
		`i=0; while [ $i -lt 60 ]; do sleep 30 & i=$((i+1)); done; echo spawned-all`)
	if !strings.Contains(r.stderr, "can't fork") {
		t.Errorf("no fork failed under --pids-limit 20:\n%s", r)
	}
	if containsLine(r.stdout, "spawned-all") || r.code == 0 || r.code == 125 {
		t.Errorf("want the shell to fail on the fork limit, got:\n%s", r)
	}
}

func TestCpusQuotaIsVisibleInTheCgroup(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, limitsWhy)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	b := e.start("run", "--name", "cpu", "--cpus", "0.5", "busybox", "sh", "-c", "echo ready; while true; do sleep 1; done")
	b.waitLine(t, "ready")
	rec := e.inspect("cpu")
	// The leftover checks of assertClean must see a running container.
	cgs, err := testenv.Live.Cgroups(rec.ID)
	if mnts := mountsUnder(t, e.root); len(cgs) == 0 || len(mnts) == 0 {
		t.Errorf("running container %s: cgroups %v (%v), mounts %v: the leftover checks look in the wrong place",
			rec.ID, cgs, err, mnts)
	}
	dir, v2 := cgroupDir(t, rec.Pid, "cpu")
	file, want := filepath.Join(dir, "cpu.cfs_quota_us"), "50000"
	if v2 {
		file, want = filepath.Join(dir, "cpu.max"), "50000 100000"
	}
	got, err := os.ReadFile(file)
	if err != nil || strings.TrimSpace(string(got)) != want {
		t.Errorf("--cpus 0.5: %s = %q (%v), want %q", file, got, err, want)
	}
	if period, err := os.ReadFile(filepath.Join(filepath.Dir(file), "cpu.cfs_period_us")); err == nil &&
		strings.TrimSpace(string(period)) != "100000" {
		t.Errorf("cpu.cfs_period_us = %q, want 100000", period)
	}
	// rm -f stops it while run is in the foreground; run then ends.
	e.must("rm", "-f", "cpu")
	done := make(chan struct{})
	go func() { b.wait(t); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("run did not end after rm -f of its container")
	}
}

// limitsWhy is why limit tests skip in the rootless tier without a
// delegated cgroup (the VM matrix's rootless leg has one, and runs them).
const limitsWhy = "limits need a cgroup, and ordinary users get one only in a cgroup v2 subtree delegated to them " +
	"(TestRootlessRefusesLimitsWithoutACgroup checks the refusal)"

// cgroupDir is the directory of process pid's cgroup in the hierarchy
// holding controller, the kernel's answer from /proc/PID/cgroup: on cgroup
// v1 /sys/fs/cgroup/CONTROLLER/PATH, on v2 /sys/fs/cgroup/PATH (v2 true).
// Root's containers are at /edgerun/<id>, rootless ones below the user's
// delegated cgroup; this finds either.
func cgroupDir(t *testing.T, pid int, controller string) (dir string, v2 bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cgroup"))
	if err != nil {
		t.Fatalf("the cgroup of container process %d: %v", pid, err)
	}
	unified := ""
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		switch {
		case len(f) != 3:
		case f[0] == "0" && f[1] == "":
			unified = f[2]
		case slices.Contains(strings.Split(f[1], ","), controller):
			return filepath.Join("/sys/fs/cgroup", controller, f[2]), false
		}
	}
	if unified == "" {
		t.Fatalf("process %d is in no cgroup with the %s controller:\n%s", pid, controller, b)
	}
	return filepath.Join("/sys/fs/cgroup", unified), true
}
