package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

func TestKilledMonitorIsReapedAndRestartedByPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "once", "busybox", "sleep", "1000")
	e.runD("--name", "svc", "--restart", "always", "busybox", "sleep", "1000")
	once, svc := e.inspectLife("once"), e.inspectLife("svc")
	for _, r := range []lifeRecord{once, svc} {
		if err := unix.Kill(r.MonitorPid, unix.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []lifeRecord{once, svc} {
		for alive(r.MonitorPid) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The next command notices: no stale "running" without a monitor.
	got := e.inspectLife("once")
	if got.State != "exited" || !got.MonitorLost || got.ExitCode != 137 {
		t.Errorf("container without restart policy whose monitor died: %+v, want exited 137, monitorLost", got)
	}
	if alive(once.Pid) {
		t.Errorf("its process %d still runs: the container must be killed, not orphaned", once.Pid)
	}
	if ps := e.must("ps", "-a"); !strings.Contains(ps, "monitor lost") {
		t.Errorf("ps -a does not say the monitor was lost:\n%s", ps)
	}
	got = e.inspectLife("svc")
	if got.State != "running" || got.RestartCount != 1 || got.MonitorPid == svc.MonitorPid || !alive(got.MonitorPid) {
		t.Errorf("--restart always container whose monitor died: %+v, want running again under a new monitor", got)
	}
	if alive(svc.Pid) {
		t.Errorf("the old process %d still runs beside the new one", svc.Pid)
	}
	e.must("start", "once")
	e.must("rm", "-f", "once", "svc")
}

func TestKilledCLIDuringRunDetachedLeavesNoHalfContainer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	// Kill `run -d` at different moments: before, during and after the
	// hand-over to the monitor.
	for i := range 12 {
		ctx, cancel := context.WithCancel(context.Background())
		cmd := e.command(ctx, "run", "-d", "--name", fmt.Sprintf("k%d", i), "busybox", "sleep", "1000")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i) * 40 * time.Millisecond)
		_ = cmd.Process.Signal(unix.SIGKILL)
		_ = cmd.Wait()
		cancel()
		e.collectIDs()
	}
	// The next commands see either a running container (the monitor got
	// it; it may still be starting it) or nothing; never one half made or
	// stuck "created".
	deadline := time.Now().Add(cmdTimeout)
	for {
		ps := e.must("ps", "-a", "--format", "json")
		if !strings.Contains(ps, `"State":"created"`) || time.Now().After(deadline) {
			for _, line := range strings.Split(ps, "\n") {
				if strings.Contains(line, `"State"`) && !strings.Contains(line, `"State":"running"`) {
					t.Errorf("after killed run -d: a container in state %s", line)
				}
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, id := range entries(filepath.Join(e.root, "containers")) {
		if _, err := os.Stat(filepath.Join(e.root, "containers", id, "record.json")); err != nil {
			t.Errorf("container dir %s without a record after the next command", id)
		}
	}
	for _, name := range entries(filepath.Join(e.root, "names")) {
		if e.run("inspect", name).code != 0 {
			t.Errorf("name %s is claimed by no container after the next command", name)
		}
	}
	for _, id := range strings.Fields(e.must("ps", "-aq")) {
		e.must("rm", "-f", id)
	}
}

func TestBootAfterSimulatedRebootStartsTheRightContainers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.fakeBootID("boot-1")
	want := map[string]string{
		"always":         "running",
		"always-stopped": "running", // always: started at boot even after a stop
		"unless":         "running",
		"unless-stopped": "exited",
		"on-failure":     "exited",
		"no":             "exited",
	}
	policy := map[string]string{"always": "always", "always-stopped": "always", "unless": "unless-stopped",
		"unless-stopped": "unless-stopped", "on-failure": "on-failure", "no": "no"}
	for name, p := range policy {
		e.runD("--name", name, "--restart", p, "busybox", "sleep", "1000")
	}
	e.must("stop", "-t", "0", "always-stopped", "unless-stopped")
	e.must("boot", "--shutdown", "-t", "0") // the init system stops the rest cleanly
	for name := range policy {
		if r := e.inspectLife(name); r.State != "exited" {
			t.Fatalf("after boot --shutdown: %s is %s", name, r.State)
		}
	}
	// Power cut and reboot: new boot ID, the volatile root and mounts gone.
	unmountUnder(e.root)
	if err := os.RemoveAll(e.state); err != nil {
		t.Fatal(err)
	}
	e.fakeBootID("boot-2")
	out := e.must("boot")
	for name, st := range want {
		r := e.inspectLife(name)
		if r.State != st {
			t.Errorf("after boot: %s (--restart %s) is %s, want %s", name, policy[name], r.State, st)
		}
		if started := strings.Contains(out, "started "+name+"\n"); started != (st == "running") {
			t.Errorf("boot output %q about %s: want it listed only if started", out, name)
		}
	}
	for name := range policy {
		e.must("rm", "-f", name)
	}
}

func TestRecordRunningFromAnEarlierBootIsShownExited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.fakeBootID("boot-1")
	e.runD("--name", "svc", "--restart", "unless-stopped", "busybox", "sleep", "1000")
	e.powerCut(e.inspectLife("svc"))
	e.fakeBootID("boot-2")
	if got := e.inspectLife("svc"); got.State != "exited" || got.MonitorLost || !got.HostRestarted {
		t.Errorf("after a reboot, before boot: %+v, want exited (not restarted, not monitor lost: the host restarted)", got)
	}
	if ps := e.must("ps", "-a"); !strings.Contains(ps, "(host restarted)") || strings.Contains(ps, "monitor lost") {
		t.Errorf("ps -a after a reboot should say the host restarted, not that the monitor was lost:\n%s", ps)
	}
	e.must("boot")
	if got := e.inspectLife("svc"); got.State != "running" {
		t.Errorf("after boot: %+v, want running", got)
	}
	e.must("rm", "-f", "svc")
}

// fakeBootID makes edgerun and its monitors of this env read the boot ID
// from a file of its own (EDGERUN_BOOT_ID_FILE) and writes id there; a
// second call with another id is a reboot.
func (e *env) fakeBootID(id string) {
	e.t.Helper()
	file := filepath.Join(e.base, "boot_id")
	if err := os.WriteFile(file, []byte(id+"\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if v := "EDGERUN_BOOT_ID_FILE=" + file; !slices.Contains(e.extraEnv, v) {
		e.extraEnv = append(e.extraEnv, v)
	}
}

// powerCut simulates losing power under a container: its monitor and
// processes die without recording anything, and what a reboot clears
// (its cgroup, its root file system mount) is gone.
func (e *env) powerCut(r lifeRecord) {
	e.t.Helper()
	_ = unix.Kill(r.MonitorPid, unix.SIGKILL)
	_ = unix.Kill(r.Pid, unix.SIGKILL)
	killProbes(r.ID) // a health probe the monitor had running dies too
	for alive(r.MonitorPid) || alive(r.Pid) {
		time.Sleep(10 * time.Millisecond)
	}
	cgs, err := testenv.Live.Cgroups(r.ID)
	if err != nil {
		e.t.Fatalf("simulated reboot: %v", err)
	}
	for _, cg := range cgs {
		// Every process in it (an exec'd health check, say) dies with the power.
		deadline := time.Now().Add(cmdTimeout)
		for {
			b, _ := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = unix.Kill(pid, unix.SIGKILL)
				}
			}
			err := unix.Rmdir(cg)
			if err == nil || errors.Is(err, unix.ENOENT) {
				break
			}
			if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
				e.t.Fatalf("simulated reboot: remove cgroup %s: %v", cg, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	unmountUnder(e.root)
}

// killProbes kills the health probe processes of container id
// ("edgerun __health ROOT STATE ID").
func killProbes(id string) {
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if args := strings.Split(string(b), "\x00"); len(args) > 4 && args[1] == "__health" && args[4] == id {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}
