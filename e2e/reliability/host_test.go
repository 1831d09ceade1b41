package reliability

import (
	"bytes"
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

// alive says whether pid is a process that has not exited. A killed
// multi-threaded process shows its leader as a zombie while its other
// threads are still exiting, with its descriptors (and flocks) still
// open: it is dead once the leader is the only task left.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	if i > 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X' {
		return true
	}
	return len(entries(filepath.Join("/proc", strconv.Itoa(pid), "task"))) > 1
}

// waitGone waits until pid has exited.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(cmdTimeout)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d did not exit", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processes returns the PIDs of edgerun processes of this env (CLIs and
// monitors: their command lines name its roots).
func (e *env) processes() (all, monitors []int) {
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil || !alive(pid) {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		mine := false
		for _, a := range args {
			if a == e.root || a == e.state {
				mine = true
			}
		}
		if !mine {
			continue
		}
		all = append(all, pid)
		if len(args) > 1 && args[1] == "__monitor" {
			monitors = append(monitors, pid)
		}
	}
	return all, monitors
}

// fakeBootID makes edgerun and its monitors read the boot ID from a file
// of this env's (EDGERUN_BOOT_ID_FILE); another id is a reboot.
func (e *env) fakeBootID(id string) {
	e.t.Helper()
	file := filepath.Join(e.base, "boot_id")
	if err := os.WriteFile(file, []byte(id+"\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
	v := "EDGERUN_BOOT_ID_FILE=" + file
	for _, x := range e.extra {
		if x == v {
			return
		}
	}
	e.extra = append(e.extra, v)
}

// powerCut ends everything a reboot ends: the container's processes and
// monitor die unrecorded, its cgroups and mounts go, and the volatile root
// with them unless keepState (a --state on persistent storage, which the
// next command clears itself).
func (e *env) powerCut(c ctr, keepState bool) {
	e.t.Helper()
	_ = unix.Kill(c.MonitorPid, unix.SIGKILL)
	_ = unix.Kill(c.Pid, unix.SIGKILL)
	waitGone(e.t, c.MonitorPid)
	waitGone(e.t, c.Pid)
	cgs, err := testenv.Live.Cgroups(c.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, cg := range cgs {
		if err := unix.Rmdir(cg); err != nil {
			e.t.Fatalf("simulated reboot: remove cgroup %s: %v", cg, err)
		}
	}
	unmountUnder(e.root)
	unmountUnder(e.state)
	if keepState {
		return
	}
	if err := os.RemoveAll(e.state); err != nil {
		e.t.Fatal(err)
	}
}

// unmountUnder detaches the mounts involving dir, innermost first.
func unmountUnder(dir string) {
	mnts, _ := testenv.Live.Mounts(dir)
	for i := len(mnts) - 1; i >= 0; i-- {
		_ = unix.Unmount(mnts[i].Point, unix.MNT_DETACH)
	}
}

// entries lists a directory's entries, nil when it does not exist.
func entries(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, ent := range ents {
		names = append(names, ent.Name())
	}
	return names
}

// lockHolders lists the processes that have a lock file of the env's
// volatile root open, to tell why a command left a container alone.
func (e *env) lockHolders() []string {
	var held []string
	for pid, files := range e.lockFilesOpen() {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		held = append(held, fmt.Sprintf("%v by %d (%s)", files, pid, strings.ReplaceAll(string(cmd), "\x00", " ")))
	}
	return held
}

// lockFilesOpen maps the processes that have lock files of the env's
// volatile root open to those files.
func (e *env) lockFilesOpen() map[int][]string {
	open := map[int][]string{}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		// A killed process whose leader is a zombie keeps its descriptors
		// until its last thread exits: read them through its threads.
		fdDirs := []string{filepath.Join("/proc", p.Name(), "fd")}
		if tasks, _ := filepath.Glob(filepath.Join("/proc", p.Name(), "task", "*", "fd")); len(tasks) > 1 {
			fdDirs = tasks
		}
		for _, dir := range fdDirs {
			fds, _ := os.ReadDir(dir)
			for _, fd := range fds {
				target, err := os.Readlink(filepath.Join(dir, fd.Name()))
				if err == nil && strings.HasPrefix(target, filepath.Join(e.state, "locks")+"/") && !slices.Contains(open[pid], filepath.Base(target)) {
					open[pid] = append(open[pid], filepath.Base(target))
				}
			}
		}
	}
	return open
}
