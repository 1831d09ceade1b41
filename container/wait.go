package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/specgen"
)

// The conditions of `edgerun wait --condition`, docker's.
const (
	// WaitNotRunning returns at once for a container that does not run,
	// else at its next exit (the default).
	WaitNotRunning = "not-running"
	// WaitNextExit returns at the container's next exit, whatever its
	// state now.
	WaitNextExit = "next-exit"
	// WaitRemoved returns once the container is removed.
	WaitRemoved = "removed"
)

// Wait blocks until the container meets cond and returns its exit code.
// An exit is a run of the container ending: a container whose restart
// policy restarts it counts as exited at its first exit, as in docker
// (wait again for the next one). A restarting container (waiting out its
// backoff) counts as running.
//
// It does not poll: it watches the container's directory with inotify
// (every record write is a rename into it) and blocks on the owner lock
// (held by the monitor or the foreground edgerun for as long as the
// container is owned), so an owner that dies without recording the exit
// wakes it too. A detached container whose monitor died is reaped by
// wait itself, as every command's cleanup would (killed, recorded with
// monitorLost, restarted by its policy). A --rm container's exit code is left in a
// volatile file for a minute (saveLastExit): its record goes with it.
func (r *Runtime) Wait(ctx context.Context, ref, cond string) (int, error) {
	switch cond {
	case "":
		cond = WaitNotRunning
	case WaitNotRunning, WaitNextExit, WaitRemoved:
	default:
		return 0, fmt.Errorf("%w: --condition %q: use not-running, next-exit or removed", specgen.ErrInvalidOption, cond)
	}
	rec, err := r.lookup(ref)
	if err != nil {
		return 0, err
	}
	w, err := r.watch(rec.ID)
	if err != nil {
		return 0, err
	}
	defer w.close()
	// Read again now that the watch is in place: nothing is missed.
	base, err := r.loadRecord(rec.ID)
	if err != nil {
		return 0, fmt.Errorf("%w: %s was removed meanwhile", ErrNoSuchContainer, ref)
	}
	r.refresh(base)
	if cond == WaitNotRunning && !runs(base) {
		return base.ExitCode, nil
	}
	return r.waitExit(ctx, w, rec.ID, base, cond)
}

// waitAfter waits for the first exit of container id that ends after
// since (start -a: a run that already ended counts).
func (r *Runtime) waitAfter(ctx context.Context, id string, since time.Time) (int, error) {
	w, err := r.watch(id)
	if err != nil {
		return 0, err
	}
	defer w.close()
	return r.waitExit(ctx, w, id, &Record{State: StateRunning, FinishedAt: since}, WaitNextExit)
}

// waitExit waits, with the watch in place, until cond holds against base.
func (r *Runtime) waitExit(ctx context.Context, w *watcher, id string, base *Record, cond string) (int, error) {
	last := base
	for {
		cur, err := r.loadRecord(id)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if code, ok := r.lastExit(id); ok {
				return code, nil // a --rm container's
			}
			if cond == WaitRemoved || exitedSince(base, last) {
				return last.ExitCode, nil
			}
			return -1, nil // removed (rm -f) before it exited
		case err != nil:
			return 0, err
		}
		r.refresh(cur)
		last = cur
		if cond != WaitRemoved && exitedSince(base, cur) {
			return cur.ExitCode, nil
		}
		var recheck <-chan time.Time
		switch {
		case r.ownerAlive(id):
			w.armOwner(r.ownerLockPath(id))
		case runs(cur):
			// Its owner died (kill -9) and left it running: reap it, as the
			// cleanup of every command does; the record it writes wakes
			// the loop (a foreground container whose edgerun died lives
			// on). Another command may hold the lock, or the reap fail:
			// nothing may then write the record, so look again shortly.
			if !r.Busy(cur) {
				_ = r.reapLost(cur)
			}
			recheck = time.After(200 * time.Millisecond)
		}
		select {
		case <-w.changed:
		case <-recheck:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// runs says whether the container runs, or will run again by itself
// (restarting).
func runs(rec *Record) bool { return rec.State == StateRunning || rec.State == StateRestarting }

// exitedSince says whether cur records an exit later than base's.
func exitedSince(base, cur *Record) bool {
	if cur.FinishedAt.After(base.FinishedAt) && cur.State != StateRunning {
		return true // exited, restarting, or a created container that failed to start
	}
	// An owner that died without recording it (refresh's answer).
	return cur.State == StateExited && runs(base)
}

// watcher wakes Wait when the container's record changes or its owner
// lock is released.
type watcher struct {
	ino     *os.File
	changed chan struct{}
	owner   bool // an owner-lock waiter is armed
	ownerCh chan struct{}
}

// watch starts an inotify watch on the container's directory.
func (r *Runtime) watch(id string) (*watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("watch container %s: %w", id, err)
	}
	ino := os.NewFile(uintptr(fd), "inotify")
	mask := uint32(unix.IN_MOVED_TO | unix.IN_CLOSE_WRITE | unix.IN_DELETE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF)
	if _, err := unix.InotifyAddWatch(fd, r.containerDir(id), mask); err != nil {
		ino.Close()
		if errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("%w: %s", ErrNoSuchContainer, id)
		}
		return nil, fmt.Errorf("watch container %s: %w", id, err)
	}
	w := &watcher{ino: ino, changed: make(chan struct{}, 1), ownerCh: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := ino.Read(buf); err != nil {
				return // closed
			}
			w.wake()
		}
	}()
	return w, nil
}

func (w *watcher) wake() {
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// armOwner wakes the watcher once the owner lock at path is free (at once
// when nobody holds it), unless a waiter is armed already. The lock is
// taken shared and dropped at once: it never keeps an owner from
// starting for more than that instant.
func (w *watcher) armOwner(path string) {
	select {
	case <-w.ownerCh:
		w.owner = false
	default:
	}
	if w.owner {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		return // no owner file: nobody owns it, the record says the rest
	}
	w.owner = true
	go func() {
		defer f.Close()
		for {
			if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != unix.EINTR {
				break
			}
		}
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		w.ownerCh <- struct{}{}
		w.wake()
	}()
}

func (w *watcher) close() { w.ino.Close() }

// waitDir keeps the exit codes of --rm containers for wait, briefly.
func (r *Runtime) waitDir() string { return filepath.Join(r.cfg.State, "exits") }

// lastExitKeep is how long a --rm container's exit code is kept for wait
// (removeStaleWaitFiles).
const lastExitKeep = time.Minute

// saveLastExit records the exit code of a --rm container that is about
// to be removed, so a wait that wakes after its record is gone still
// prints it (best effort, volatile).
func (r *Runtime) saveLastExit(rec *Record) {
	if os.MkdirAll(r.waitDir(), 0o700) == nil {
		_ = atomicfile.WriteFileVolatile(filepath.Join(r.waitDir(), rec.ID), []byte(strconv.Itoa(rec.ExitCode)), 0o600)
	}
}

// lastExit reads what saveLastExit recorded.
func (r *Runtime) lastExit(id string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(r.waitDir(), id))
	if err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(string(b))
	return n, err == nil
}

// removeStaleWaitFiles removes the kept exit codes of removed containers
// older than lastExitKeep, and the stdin FIFOs of containers that are
// gone (a monitor killed before it removed its container's).
func (r *Runtime) removeStaleWaitFiles(present map[string]bool) error {
	var errs []error
	ents, _ := os.ReadDir(r.waitDir())
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > lastExitKeep {
			errs = append(errs, os.Remove(filepath.Join(r.waitDir(), e.Name())))
		}
	}
	ents, _ = os.ReadDir(filepath.Dir(r.stdinPath("x")))
	for _, e := range ents {
		if present[e.Name()] {
			continue
		}
		if _, err := os.Lstat(r.containerDir(e.Name())); errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, os.Remove(r.stdinPath(e.Name())))
		}
	}
	for i, err := range errs {
		if errors.Is(err, fs.ErrNotExist) {
			errs[i] = nil
		}
	}
	return errors.Join(errs...)
}
