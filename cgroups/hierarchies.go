package cgroups

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
	"time"

	"golang.org/x/sys/unix"
)

// Hierarchies are the cgroup file systems mounted on this host: the v1
// hierarchies, a hybrid's unified tree, or the one v2 tree. They answer,
// from the kernel, where a cgroup is and which processes it holds, without
// any runtime state: edgerun's container cgroups have fixed paths (Path).
// Unlike Host, they include named hierarchies (name=systemd), where
// libcontainer makes the container's cgroup too.
type Hierarchies struct {
	mounts []string
}

// Mounted reads the cgroup mounts of this process's mount namespace.
func Mounted() *Hierarchies { return mountedFrom("/proc/self/mountinfo") }

func mountedFrom(mountinfo string) *Hierarchies {
	h := &Hierarchies{}
	f, err := os.Open(mountinfo)
	if err != nil {
		return h
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, fstype := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(fstype) < 1 || (fstype[0] != "cgroup" && fstype[0] != "cgroup2") {
			continue
		}
		if !seen[fields[2]] { // one mount per hierarchy (by device)
			seen[fields[2]] = true
			h.mounts = append(h.mounts, unescapeMount(fields[4]))
		}
	}
	return h
}

// Roots are the hierarchies' mount points.
func (h *Hierarchies) Roots() []string { return h.mounts }

// Dirs are the directories of the cgroup at path (relative to each
// hierarchy's root) that exist.
func (h *Hierarchies) Dirs(path string) []string {
	var dirs []string
	for _, m := range h.mounts {
		d := filepath.Join(m, path)
		if _, err := os.Stat(d); err == nil {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// Procs lists the processes in the cgroup at path, from whichever
// hierarchy shows them; none when it is gone or empty.
func (h *Hierarchies) Procs(path string) []int {
	for _, d := range h.Dirs(path) {
		if pids := procsOf(d); len(pids) > 0 {
			return pids
		}
	}
	return nil
}

func procsOf(dir string) []int {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Kill sends SIGKILL to every process in the cgroup at path; true when
// there were any.
func (h *Hierarchies) Kill(path string) bool {
	pids := h.Procs(path)
	for _, pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	return len(pids) > 0
}

// Remove kills the processes of the cgroup at path, waits (up to 5 s)
// until they are gone, and removes its directory on every hierarchy.
func (h *Hierarchies) Remove(path string) error {
	dirs := h.Dirs(path)
	if len(dirs) == 0 {
		return nil
	}
	for i := 0; i < 500 && h.Kill(path); i++ {
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

// RemoveOrphans removes the child cgroups of parent (on every hierarchy)
// that are empty, not kept, and older than minAge (see Orphans). A cgroup
// with processes is never touched.
func (h *Hierarchies) RemoveOrphans(parent string, keep func(name string) bool, minAge time.Duration) error {
	var errs []error
	for _, d := range h.Orphans(parent, keep, minAge) {
		if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, unix.EBUSY) {
			errs = append(errs, fmt.Errorf("remove orphaned cgroup %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// Contains says whether process pid is in the cgroup at path (on any
// hierarchy), from /proc/PID/cgroup.
func Contains(pid int, path string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	return err == nil && bytes.Contains(b, []byte("/"+strings.Trim(path, "/")+"\n"))
}
