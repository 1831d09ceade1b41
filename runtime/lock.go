package runtime

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/edgerun/edgerun/internal/lockfile"
)

func (r *Runtime) lockPath(id string) string {
	return filepath.Join(r.cfg.State, "locks", id+".lock")
}

// lockContainer takes the per-container lock held around load → act → save.
func (r *Runtime) lockContainer(ctx context.Context, id string) (*lockfile.Lock, error) {
	return lockfile.Exclusive(ctx, r.lockPath(id))
}

// lockHeld says whether a live process holds id's lock.
func (r *Runtime) lockHeld(id string) bool {
	l, err := lockfile.TryExclusive(r.lockPath(id))
	if errors.Is(err, lockfile.ErrLocked) {
		return true
	}
	if err == nil {
		l.Unlock()
	}
	return false
}

// ownerLockPath is held for its whole life by the process that owns a
// running container (the foreground edgerun, or the detached monitor), so
// other commands can tell a live owner from one that died.
func (r *Runtime) ownerLockPath(id string) string {
	return filepath.Join(r.cfg.State, "locks", id+".owner")
}

// holdOwner takes the owner lock of a container being started.
func (r *Runtime) holdOwner(id string) (*lockfile.Lock, error) {
	return lockfile.TryExclusive(r.ownerLockPath(id))
}

// ownerAlive says whether a live process owns the container.
func (r *Runtime) ownerAlive(id string) bool {
	l, err := lockfile.TryExclusive(r.ownerLockPath(id))
	if errors.Is(err, lockfile.ErrLocked) {
		return true
	}
	if err == nil {
		l.Unlock()
	}
	return false
}
