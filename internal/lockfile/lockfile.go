// Package lockfile provides advisory file locks (flock) that work across
// processes. A lock is released when Unlock is called or the process dies,
// so a crashed edgerun never leaves a lock held.
//
// A lock file can be deleted safely with Remove, by its holder: a locker
// that opened the file before it was unlinked, and was waiting on it,
// finds after acquiring that the path no longer names the file it locked,
// and starts over on the path's new file. Every acquisition checks this,
// so two processes never both hold "the" lock of one path.
package lockfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// ErrLocked is returned by TryLock when another process holds the lock.
var ErrLocked = errors.New("lock is held by another process")

// Lock is a held file lock.
type Lock struct {
	f         *os.File
	path      string
	exclusive bool
}

func open(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create lock dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	return f, nil
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

// Exclusive blocks until it holds an exclusive lock on path, or ctx ends.
func Exclusive(ctx context.Context, path string) (*Lock, error) {
	return acquire(ctx, path, unix.LOCK_EX)
}

// Shared blocks until it holds a shared lock on path, or ctx ends.
func Shared(ctx context.Context, path string) (*Lock, error) {
	return acquire(ctx, path, unix.LOCK_SH)
}

// TryExclusive takes an exclusive lock without waiting; ErrLocked if held.
func TryExclusive(path string) (*Lock, error) {
	return take(path, true, func(f *os.File) error {
		err := flock(f, unix.LOCK_EX|unix.LOCK_NB)
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("%s: %w", path, ErrLocked)
		}
		if err != nil {
			return fmt.Errorf("lock %s: %w", path, err)
		}
		return nil
	})
}

func acquire(ctx context.Context, path string, how int) (*Lock, error) {
	return take(path, how == unix.LOCK_EX, func(f *os.File) error { return wait(ctx, f, path, how) })
}

// take opens path and locks the file with lock, starting over until the
// file it locked is still the one the path names (see locked).
func take(path string, exclusive bool, lock func(*os.File) error) (*Lock, error) {
	for {
		f, err := open(path)
		if err != nil {
			return nil, err
		}
		if err := lock(f); err != nil {
			f.Close()
			return nil, err
		}
		if l, err := locked(f, path, exclusive); l != nil || err != nil {
			return l, err
		}
	}
}

// DefaultNoticeAfter is how long a lock wait lasts before the notice of
// WithWaitNotice reports it.
const DefaultNoticeAfter = time.Second

type noticeKey struct{}

type waitNotice struct {
	fn    func(string)
	after time.Duration
}

// WithWaitNotice returns a context under which every lock wait that lasts
// longer than DefaultNoticeAfter calls fn once, with a line naming the
// lock and its holders: "waiting for lock /var/lib/edgerun/locks/image.lock
// held by PID 4242 (edgerun load -i -)". Without it lockfile says nothing.
//
// Lock waits happen deep below every command (image store, layer cache,
// containers, network), so the CLI attaches its notice once, to the
// context each library call receives, instead of threading a callback
// through every options struct.
func WithWaitNotice(ctx context.Context, fn func(string)) context.Context {
	return context.WithValue(ctx, noticeKey{}, waitNotice{fn: fn, after: DefaultNoticeAfter})
}

// wait polls with a non-blocking flock so that ctx cancellation is
// honoured without leaving a goroutine blocked in the kernel.
func wait(ctx context.Context, f *os.File, path string, how int) error {
	notice, _ := ctx.Value(noticeKey{}).(waitNotice)
	start := time.Now()
	delay := time.Millisecond
	for {
		err := flock(f, how|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("lock %s: %w", path, err)
		}
		if notice.fn != nil && time.Since(start) >= notice.after {
			notice.fn(fmt.Sprintf("waiting for lock %s %s", path, describeHolders(path)))
			notice.fn = nil // once per wait
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for lock %s %s: %w", path, describeHolders(path), context.Cause(ctx))
		case <-time.After(delay):
		}
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
}

// locked checks that path still names the file f, now locked: if its
// holder removed it meanwhile, the lock is worthless and f is closed
// (nil, nil: start over).
func locked(f *os.File, path string, exclusive bool) (*Lock, error) {
	same, err := names(f, path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !same {
		f.Close()
		return nil, nil
	}
	return &Lock{f: f, path: path, exclusive: exclusive}, nil
}

// names says whether path is the file open as f.
func names(f *os.File, path string) (bool, error) {
	var held, cur unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &held); err != nil {
		return false, err
	}
	if err := unix.Stat(path, &cur); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, err
	}
	return held.Dev == cur.Dev && held.Ino == cur.Ino, nil
}

// Held says whether another process holds the lock at path, by trying to
// take it and releasing it at once. A lock this process holds through
// another open file counts as held too (flock locks open files). It
// never creates the lock file: a missing one is not held.
func Held(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return errors.Is(err, unix.EWOULDBLOCK)
	}
	return false // closing f releases the probe's lock
}

// Remove deletes the lock file and releases the lock. Only the holder may
// delete a lock file, and lockers re-check the path after acquiring (see
// the package comment), so waiters move on to a new file safely.
func (l *Lock) Remove() error {
	if l == nil || l.f == nil {
		return nil
	}
	if !l.exclusive {
		return fmt.Errorf("remove lock %s: only the holder of an exclusive lock may remove it", l.path)
	}
	err := os.Remove(l.path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	return errors.Join(err, l.Unlock())
}

// Unlock releases the lock. Safe to call more than once.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := flock(l.f, unix.LOCK_UN)
	cerr := l.f.Close()
	l.f = nil
	if err != nil {
		return err
	}
	return cerr
}

// File returns the locked file, to hand the lock to a child process: a
// flock belongs to the open file, so a child that inherits the descriptor
// holds the lock too, until every copy is closed or one calls Unlock.
func (l *Lock) File() *os.File { return l.f }

// Close closes this process's descriptor without unlocking: a child that
// inherited the descriptor (see File) keeps holding the lock.
func (l *Lock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// FromFile adopts a descriptor on which this process already holds a lock
// (inherited from the parent that called File), so it can be unlocked.
func FromFile(f *os.File, path string) *Lock { return &Lock{f: f, path: path, exclusive: true} }
