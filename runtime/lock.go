package runtime

import (
	"context"
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
func (r *Runtime) lockHeld(id string) bool { return lockfile.Held(r.lockPath(id)) }

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
func (r *Runtime) ownerAlive(id string) bool { return lockfile.Held(r.ownerLockPath(id)) }
