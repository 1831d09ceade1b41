package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/internal/testenv"
)

// The memory flags of issue 22: --memory-reservation, --kernel-memory and
// --oom-kill-disable. Each test reads the container's cgroup files itself
// and runs on cgroup v1 (the host: hybrid, memory on v1) and v2 (the VM
// matrix's v2 and rootless legs), where the flags differ.

// memoryFile reads one file of the memory cgroup of process pid: v1File on
// cgroup v1, v2File on v2.
func memoryFile(t *testing.T, pid int, v1File, v2File string) (file, value string) {
	t.Helper()
	dir, v2 := cgroupDir(t, pid, "memory")
	file = filepath.Join(dir, v1File)
	if v2 {
		file = filepath.Join(dir, v2File)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read the container's %s: %v", file, err)
	}
	return file, strings.TrimSpace(string(b))
}

// memoryOnV1 says whether this process's memory controller is a cgroup v1
// one (v1 or hybrid layout), from /proc/self/cgroup: the kernel's answer
// for the hierarchy the containers get too.
func memoryOnV1(t *testing.T) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.SplitN(line, ":", 3); len(f) == 3 && slices.Contains(strings.Split(f[1], ","), "memory") {
			return true
		}
	}
	return false
}

// assertNoContainers fails when a refused command left a container: a
// record, or a name in ps -a.
func (e *env) assertNoContainers(what string) {
	e.t.Helper()
	if ids := strings.Fields(e.must("ps", "-aq")); len(ids) != 0 {
		e.t.Errorf("%s left containers: %v", what, ids)
	}
	if ents := entries(filepath.Join(e.root, "containers")); len(ents) != 0 {
		e.t.Errorf("%s left container directories: %v", what, ents)
	}
}

// TestMemoryReservationIsTheSoftLimitAndUpdateKeepsIt: --memory-reservation
// is v1's memory.soft_limit_in_bytes and v2's memory.low, inspect shows it
// as docker does, update's replacement keeps it, and a reservation above
// --memory is refused before anything exists.
func TestMemoryReservationIsTheSoftLimitAndUpdateKeepsIt(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, limitsWhy)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	r := e.run("run", "--rm", "--memory", "32m", "--memory-reservation", "64m", "busybox", "true")
	want := `edgerun: invalid limit: --memory-reservation "64m" is above --memory (32MiB): the reservation is a soft limit the kernel reclaims down to when memory is short, so it must be at most the hard limit: lower --memory-reservation or raise --memory` + "\n"
	if r.code != 125 || withoutNotes(r.stderr) != want {
		t.Errorf("--memory-reservation above --memory: %s\nwant exit 125 and stderr %q", r, want)
	}
	e.assertNoContainers("a refused --memory-reservation")

	e.runD("--name", "res", "--memory", "64m", "--memory-reservation", "24m", "busybox", "sleep", "1000")
	want = strconv.Itoa(24 << 20)
	if file, got := memoryFile(t, e.inspect("res").Pid, "memory.soft_limit_in_bytes", "memory.low"); got != want {
		t.Errorf("--memory-reservation 24m: %s = %s, want %s", file, got, want)
	}
	if got := strings.TrimSpace(e.must("inspect", "-f", "{{.HostConfig.MemoryReservation}} {{.HostConfig.Memory}}", "res")); got != want+" "+strconv.Itoa(64<<20) {
		t.Errorf("inspect HostConfig.MemoryReservation, Memory = %s, want %s %d", got, want, 64<<20)
	}
	old := e.inspect("res").ID
	if r := e.run("update", "--image", "busybox", "--force", "--update-wait", "300ms", "--pull", "never", "res"); r.code != 0 {
		t.Fatalf("update: %s", r)
	}
	rec := e.inspect("res")
	if rec.ID == old {
		t.Fatalf("update --force did not replace the container")
	}
	if file, got := memoryFile(t, rec.Pid, "memory.soft_limit_in_bytes", "memory.low"); got != want {
		t.Errorf("after update: %s = %s, want the reservation kept (%s)", file, got, want)
	}
	e.must("rm", "-f", "res")
}

// TestMemoryReservationChangesWithApply: edgerun's update replaces a
// container with the options it was run with (docker's update changes
// limits in place; edgerun's does not take limit flags), so a changed
// reservation comes from apply's service file: mem_reservation changed,
// the service is replaced by a container with the new soft limit.
func TestMemoryReservationChangesWithApply(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, limitsWhy)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	service := func(reservation string) string {
		return "name: mem\nservices:\n  svc:\n    image: busybox\n    command: ['sh', '-c', '" + termable + "']\n" +
			"    network_mode: none\n    stop_grace_period: 1s\n    mem_limit: 64m\n    mem_reservation: " + reservation + "\n"
	}
	file := e.writeFile("services.yaml", service("24m"))
	e.must("apply", "-f", file, "--update-wait", "300ms")
	if f, got := memoryFile(t, e.inspect("svc").Pid, "memory.soft_limit_in_bytes", "memory.low"); got != strconv.Itoa(24<<20) {
		t.Errorf("mem_reservation 24m: %s = %s, want %d", f, got, 24<<20)
	}
	e.writeFile("services.yaml", service("40m"))
	if out := e.must("apply", "-f", file, "--update-wait", "300ms", "--format", "json"); !strings.Contains(out, `"action": "update"`) {
		t.Errorf("apply of a changed mem_reservation: %s, want an update", out)
	}
	if f, got := memoryFile(t, e.inspect("svc").Pid, "memory.soft_limit_in_bytes", "memory.low"); got != strconv.Itoa(40<<20) {
		t.Errorf("mem_reservation changed to 40m: %s = %s, want %d", f, got, 40<<20)
	}
	if got := strings.TrimSpace(e.must("inspect", "-f", "{{.HostConfig.MemoryReservation}}", "svc")); got != strconv.Itoa(40<<20) {
		t.Errorf("inspect after apply: HostConfig.MemoryReservation %s, want %d", got, 40<<20)
	}
	e.must("rm", "-f", "svc")
}

// TestMemoryKernelMemoryIsRefusedAndLeavesNothing: kernels no longer
// limit kernel memory, so --kernel-memory is refused (exit 125) with the
// reason and the fix, by run and create, on every host and also rootless,
// before anything exists; "0" asks for no limit and runs.
func TestMemoryKernelMemoryIsRefusedAndLeavesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	for _, args := range [][]string{
		{"run", "--rm", "--kernel-memory", "16m", "busybox", "true"},
		{"run", "-d", "--name", "kmem", "--memory", "64m", "--kernel-memory", "16m", "busybox", "sleep", "100"},
		{"create", "--name", "kmem", "--kernel-memory", "16m", "busybox", "true"},
	} {
		r := e.run(args...)
		want := `edgerun: limit not supported: --kernel-memory "16m": Linux no longer limits kernel memory separately (cgroup v1's memory.kmem.limit_in_bytes was deprecated in 5.4 and sets nothing since 5.16; cgroup v2 never had it), and a container's kernel memory counts against --memory: drop --kernel-memory, and size --memory to include it` + "\n"
		if r.code != 125 || withoutNotes(r.stderr) != want {
			t.Errorf("%s: %s\nwant exit 125 and stderr %q", strings.Join(args, " "), r, want)
		}
	}
	e.assertNoContainers("a refused --kernel-memory")
	e.must("run", "--rm", "--kernel-memory", "0", "busybox", "true")
}

// TestMemoryOOMKillDisableWaitsAtTheLimitOnV1AndIsRefusedOnV2: on cgroup
// v1 --oom-kill-disable is memory.oom_control's oom_kill_disable: a
// container at its --memory limit is not OOM killed; its process waits in
// the kernel (under_oom 1), and kill, stop and rm -f still end it (a
// SIGKILL wakes a task waiting there). Without --memory a warning says why
// the flag does not protect. cgroup v2 has no such switch: refused with
// exit 125 and what to do, nothing made.
func TestMemoryOOMKillDisableWaitsAtTheLimitOnV1AndIsRefusedOnV2(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, limitsWhy)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	if !memoryOnV1(t) {
		r := e.run("run", "-d", "--name", "stall", "--memory", "32m", "--oom-kill-disable", "busybox", "sleep", "100")
		want := "edgerun: limit not supported: --oom-kill-disable: this host has cgroup v2, which cannot turn off the OOM killer of a cgroup (only cgroup v1's memory.oom_control can): drop --oom-kill-disable; to keep the kernel from choosing the container's processes, use --oom-score-adj=-1000\n"
		if r.code != 125 || withoutNotes(r.stderr) != want {
			t.Errorf("--oom-kill-disable on cgroup v2: %s\nwant exit 125 and stderr %q", r, want)
		}
		e.assertNoContainers("a refused --oom-kill-disable")
		return
	}

	r := e.run("run", "--rm", "--oom-kill-disable", "busybox", "true")
	note := "edgerun: note: --oom-kill-disable without --memory does not protect the container: it turns off the OOM killer of the container's own memory limit, and when the host runs out of memory the kernel's OOM killer still chooses among all processes, this container's too: set --memory as well (the container then waits at its limit instead of losing a process), or use --oom-score-adj=-1000 to keep the kernel from choosing it\n"
	if r.code != 0 || !strings.Contains(r.stderr, note) {
		t.Errorf("--oom-kill-disable without --memory: %s\nwant it run, and stderr %q", r, note)
	}

	hog := `x=a; while true; do x=$x$x; done`
	e.runD("--name", "stall", "--memory", "16m", "--oom-kill-disable", "busybox", "sh", "-c", hog)
	if got := strings.TrimSpace(e.must("inspect", "-f", "{{.HostConfig.OomKillDisable}}", "stall")); got != "true" {
		t.Errorf("inspect HostConfig.OomKillDisable = %s, want true", got)
	}
	for _, end := range [][]string{{"kill", "stall"}, {"stop", "-t", "1", "stall"}, {"rm", "-f", "stall"}} {
		rec := e.inspect("stall")
		file, control := memoryFile(t, rec.Pid, "memory.oom_control", "")
		if !containsLine(control, "oom_kill_disable 1") {
			t.Fatalf("%s:\n%s\nwant oom_kill_disable 1", file, control)
		}
		waitUntil(t, "the hog to wait at its limit (under_oom 1)", func() bool {
			b, err := os.ReadFile(file)
			return err == nil && containsLine(string(b), "under_oom 1")
		})
		if rec := e.inspect("stall"); rec.State != "running" || rec.OOMKilled {
			t.Fatalf("at its limit with the OOM killer off: %+v, want it running, not OOM killed", rec)
		}
		e.must(end...)
		if end[0] == "rm" {
			break
		}
		ended := e.waitFor("stall", "the end after "+end[0], func(r lifeRecord) bool { return r.State == "exited" })
		if ended.ExitCode != 137 || ended.OOMKilled {
			t.Errorf("after %s: exit %d, OOM killed %v; want 137 (the SIGKILL), not OOM killed", strings.Join(end, " "), ended.ExitCode, ended.OOMKilled)
		}
		e.must("start", "stall")
	}
	if r := e.run("inspect", "stall"); r.code != 1 {
		t.Errorf("inspect after rm -f: %s, want the container gone", r)
	}
}
