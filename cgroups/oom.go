package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	lcg "github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs"
	"github.com/opencontainers/cgroups/fs2"
	"golang.org/x/sys/unix"
)

// ErrNoMemoryCgroup is returned when a container has no memory cgroup to
// read or watch: the kernel has no memory controller (cgroup_disable=memory),
// or the container has no cgroup of its own (rootless without delegation).
var ErrNoMemoryCgroup = errors.New("no memory cgroup")

// memoryDir is the container's memory cgroup directory among the paths
// libcontainer reports ("memory" on v1, "" on v2), and whether it is v2.
func memoryDir(paths map[string]string) (dir string, v2 bool, err error) {
	if p := paths["memory"]; p != "" {
		return p, false, nil
	}
	if p := paths[""]; p != "" {
		// v2, or the controller-less v2 of a hybrid host (no memory.events).
		if _, err := os.Stat(filepath.Join(p, "memory.events")); err == nil {
			return p, true, nil
		}
	}
	return "", false, ErrNoMemoryCgroup
}

// OOMKills is how many processes of the container's cgroup the kernel's
// OOM killer has killed: the oom_kill counter of memory.oom_control (v1)
// or memory.events (v2), read with libcontainer's cgroup library. paths
// are the cgroup directories libcontainer reports.
func OOMKills(paths map[string]string) (uint64, error) {
	dir, v2, err := memoryDir(paths)
	if err != nil {
		return 0, err
	}
	if v2 {
		return fs2.OOMKillCount(dir)
	}
	return fs.OOMKillCount(dir)
}

// OOMWatch is the kernel's notice of OOM kills in one container's memory
// cgroup, without polling: on v1 an eventfd registered for
// memory.oom_control through cgroup.event_control, which the kernel
// signals at every OOM of the cgroup; on v2 an inotify watch of
// memory.events, which the kernel marks modified when any of its counters
// moves (Events then reads the file, so a monitor can tell an OOM kill
// from the other counters without running anything).
//
// Both descriptors are non-blocking and can be handed to another process
// (the C monitor, package relay): see Fds.
type OOMWatch struct {
	note   *os.File // eventfd (v1) or inotify (v2)
	events *os.File // v2: memory.events, read for its oom_kill counter
}

// WatchOOM starts watching the container's memory cgroup.
func WatchOOM(paths map[string]string) (*OOMWatch, error) {
	dir, v2, err := memoryDir(paths)
	if err != nil {
		return nil, err
	}
	if v2 {
		return watchV2(dir)
	}
	return watchV1(dir)
}

func watchV1(dir string) (*OOMWatch, error) {
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("watch OOM kills: eventfd: %w", err)
	}
	note := os.NewFile(uintptr(efd), "oom-eventfd")
	ctl, err := lcg.OpenFile(dir, "memory.oom_control", unix.O_RDONLY)
	if err != nil {
		note.Close()
		return nil, fmt.Errorf("watch OOM kills: %w", err)
	}
	// The kernel holds its own reference to both once registered.
	defer ctl.Close()
	reg := strconv.Itoa(efd) + " " + strconv.Itoa(int(ctl.Fd()))
	if err := lcg.WriteFile(dir, "cgroup.event_control", reg); err != nil {
		note.Close()
		return nil, fmt.Errorf("watch OOM kills: %w", err)
	}
	return &OOMWatch{note: note}, nil
}

func watchV2(dir string) (*OOMWatch, error) {
	ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("watch OOM kills: inotify: %w", err)
	}
	note := os.NewFile(uintptr(ifd), "oom-inotify")
	file := filepath.Join(dir, "memory.events")
	if _, err := unix.InotifyAddWatch(ifd, file, unix.IN_MODIFY); err != nil {
		note.Close()
		return nil, fmt.Errorf("watch OOM kills: inotify %s: %w", file, err)
	}
	events, err := lcg.OpenFile(dir, "memory.events", unix.O_RDONLY)
	if err != nil {
		note.Close()
		return nil, fmt.Errorf("watch OOM kills: %w", err)
	}
	return &OOMWatch{note: note, events: events}, nil
}

// Fds are the descriptors a monitor in another process polls: the
// notice, and on v2 memory.events (-1 on v1).
func (w *OOMWatch) Fds() (note, events uintptr) {
	events = ^uintptr(0)
	if w.events != nil {
		events = w.events.Fd()
	}
	return w.note.Fd(), events
}

// Wait blocks until the kernel gives notice (a v2 notice may be of
// another counter of memory.events: read OOMKills), or the watch is
// closed (an error).
func (w *OOMWatch) Wait() error {
	buf := make([]byte, 4096) // inotify events, or the eventfd's 8 bytes
	_, err := w.note.Read(buf)
	return err
}

// Close stops watching; a Wait in progress returns.
func (w *OOMWatch) Close() error {
	err := w.note.Close()
	if w.events != nil {
		err = errors.Join(err, w.events.Close())
	}
	return err
}
