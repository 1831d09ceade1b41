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
