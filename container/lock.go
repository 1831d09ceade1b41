package container

import (
	"context"
	"errors"
	"io/fs"
	"os"
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

// unlock releases a container lock. When the container's directory is
// gone (removed, or its create undone) it also deletes the lock and owner
// files: the directory is only made under this lock, so nothing can bring
// the container back meanwhile, and lockfile's re-check makes deleting a
// lock file others wait on safe. A live owner keeps its open owner file.
func (r *Runtime) unlock(lock *lockfile.Lock, id string) error {
	if lock == nil {
		return nil
	}
	if _, err := os.Lstat(r.containerDir(id)); !errors.Is(err, fs.ErrNotExist) {
		return lock.Unlock()
	}
	err := os.Remove(r.ownerLockPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return errors.Join(err, lock.Remove())
}
