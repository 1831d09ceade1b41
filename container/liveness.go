package container

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Whether a container lives is the kernel's answer (design card): the
// processes in its cgroup, and its monitor's PID checked against the
// monitor's command line (which names the container's ID, so a reused PID
// never passes). Lock files in --state and the boot ID help, but a state
// directory that was wiped or swapped must never make a live container
// look dead.

// monitorAlive says whether the container's recorded monitor still runs.
func monitorAlive(rec *Record) bool {
	return rec.MonitorPid > 0 && isMonitorOf(rec.MonitorPid, rec.ID)
}

// owned says whether a live process owns the container: its owner lock
// is held in this state directory, or, whatever became of the state
// directory, its recorded monitor still runs.
func (r *Runtime) owned(rec *Record) bool {
	return r.ownerAlive(rec.ID) || monitorAlive(rec)
}

// cgroupDirs are the directories of container id's cgroup on every cgroup
// file system mounted here (v1 hierarchies, a hybrid's unified tree, or
// the one v2 tree) that exist.
func (r *Runtime) cgroupDirs(id string) []string {
	var dirs []string
	for _, m := range r.cgroupMounts() {
		d := filepath.Join(m, "edgerun", id)
		if _, err := os.Stat(d); err == nil {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// cgroupProcs lists the processes in container id's cgroup, from whichever
// hierarchy shows them; none when the cgroup is gone or empty.
func (r *Runtime) cgroupProcs(id string) []int {
	for _, d := range r.cgroupDirs(id) {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil || len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var pids []int
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	return nil
}

// cgroupPopulated says whether any process runs in container id's cgroup.
func (r *Runtime) cgroupPopulated(id string) bool { return len(r.cgroupProcs(id)) > 0 }

// killCgroup sends SIGKILL to every process in container id's cgroup, for
// a container whose libcontainer state is lost; true when there were any.
func (r *Runtime) killCgroup(id string) bool {
	pids := r.cgroupProcs(id)
	for _, pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	return len(pids) > 0
}

// removeCgroup kills the processes of container id's cgroup, waits until
// they are gone, and removes its directory on every hierarchy.
func (r *Runtime) removeCgroup(id string) error {
	dirs := r.cgroupDirs(id)
	if len(dirs) == 0 {
		return nil
	}
	for i := 0; i < 500 && r.killCgroup(id); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	var errs []error
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// orphanCgroupAge is how old an empty cgroup of no container of this root
// must be before cleanup removes it: younger, it may belong to a container
// of another root that is being started right now.
const orphanCgroupAge = time.Minute

// removeOrphanCgroups removes edgerun's cgroups that no container has (a
// process killed between creating a cgroup and recording it): empty ones
// whose ID is not one of this root's containers and that are older than
// orphanCgroupAge. A cgroup with processes is never touched.
func (r *Runtime) removeOrphanCgroups(known map[string]bool) error {
	var errs []error
	for _, m := range r.cgroupMounts() {
		parent := filepath.Join(m, "edgerun")
		ents, err := os.ReadDir(parent)
		if err != nil {
			continue
		}
		for _, e := range ents {
			id := e.Name()
			if !e.IsDir() || known[id] || len(id) != 64 || !isHexPrefix(id) {
				continue
			}
			fi, err := e.Info()
			if err != nil || time.Since(fi.ModTime()) < orphanCgroupAge {
				continue
			}
			d := filepath.Join(parent, id)
			if b, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err != nil || len(bytes.TrimSpace(b)) > 0 {
				continue
			}
			if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.EBUSY) {
				errs = append(errs, fmt.Errorf("remove orphaned cgroup %s: %w", d, err))
			}
		}
	}
	return errors.Join(errs...)
}

// signalInit sends sig to the container's init: through libcontainer when
// its state is here, else to the recorded PID while that process is still
// in the container's cgroup (the state in --state was lost).
func (r *Runtime) signalInit(rec *Record, sig unix.Signal) error {
	if c := r.loadLibcontainer(rec.ID); c != nil {
		return c.Signal(sig)
	}
	if rec.Pid > 0 && inCgroup(rec.Pid, rec.ID) {
		return unix.Kill(rec.Pid, sig)
	}
	if sig == unix.SIGKILL && r.killCgroup(rec.ID) {
		return nil
	}
	return fmt.Errorf("%w: container %s has no process to signal", ErrNotRunning, rec.Name)
}

// inCgroup says whether pid runs in container id's cgroup: a recorded
// init PID is signalled only when it still belongs to the container.
func inCgroup(pid int, id string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	return err == nil && bytes.Contains(b, []byte("/edgerun/"+id+"\n"))
}

// cgroupMounts are the mount points of the cgroup file systems, read once
// per Runtime from this process's mountinfo.
func (r *Runtime) cgroupMounts() []string {
	r.cgroupOnce.Do(func() { r.cgroupRoots = readCgroupMounts("/proc/self/mountinfo") })
	return r.cgroupRoots
}

func readCgroupMounts(mountinfo string) []string {
	f, err := os.Open(mountinfo)
	if err != nil {
		return nil
	}
	defer f.Close()
	var mounts []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, fs := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(fs) < 1 || (fs[0] != "cgroup" && fs[0] != "cgroup2") {
			continue
		}
		if mp := unescapeMount(fields[4]); !seen[fields[2]] {
			seen[fields[2]] = true // one mount per hierarchy (by device)
			mounts = append(mounts, mp)
		}
	}
	return mounts
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroupCache is the Runtime's once-read list of cgroup mounts.
type cgroupCache struct {
	cgroupOnce  sync.Once
	cgroupRoots []string
}

// bootTime is when this boot began (btime of /proc/stat), or fallback
// when the kernel does not say.
func bootTime(fallback time.Time) time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return fallback
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(s, 0).UTC()
			}
		}
	}
	return fallback
}
