package rootfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// Prune removes every published layer whose diff ID is not in keep, and all
// staging debris. It holds the cache lock exclusively, so it never races an
// Ensure; the caller must put every layer of every image and container it
// still needs in keep. Each layer is unpublished by a rename first, so a
// crash mid-removal leaves only staging debris. It refuses
// (ErrIDMapChanged) to remove layers another ID mapping unpacked when
// this one cannot remove their files.
func (c *Cache) Prune(ctx context.Context, keep map[digest.Digest]bool) ([]digest.Digest, int64, error) {
	lk, err := lockfile.Exclusive(ctx, c.path("cache.lock"))
	if err != nil {
		return nil, 0, err
	}
	defer lk.Unlock()
	if err := c.checkRemovable(); err != nil {
		return nil, 0, err
	}
	if err := c.cleanStaging(true); err != nil {
		return nil, 0, err
	}
	algo := digest.SHA256
	entries, err := os.ReadDir(c.path(algo.String()))
	if err != nil {
		return nil, 0, fmt.Errorf("read layer cache: %w", err)
	}
	var removed []digest.Digest
	var freed int64
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, freed, err
		}
		d := digest.NewDigestFromEncoded(algo, e.Name())
		if d.Validate() != nil || keep[d] {
			continue
		}
		n, err := c.removeLayer(d)
		freed += n
		if err != nil {
			return removed, freed, err
		}
		removed = append(removed, d)
	}
	return removed, freed, c.removeStrayLocks()
}

// removeStrayLocks removes the lock files of layers that are not in the
// cache: an unpack that failed (a refused or corrupt layer) leaves its
// lock file, and so does a prune killed between unpublishing a layer and
// removing its lock. The caller holds the cache lock exclusively, so no
// unpack holds a layer lock; each is taken before its file is removed, as
// the staging cleanup of an opening process may probe it.
func (c *Cache) removeStrayLocks() error {
	ents, err := os.ReadDir(c.path("locks"))
	if err != nil {
		return fmt.Errorf("read layer locks: %w", err)
	}
	var errs []error
	for _, e := range ents {
		key, ok := strings.CutSuffix(e.Name(), ".lock")
		algo, hex, _ := strings.Cut(key, "-")
		if ok && c.Has(digest.NewDigestFromEncoded(digest.Algorithm(algo), hex)) {
			continue
		}
		lk, err := lockfile.TryExclusive(c.path("locks", e.Name()))
		if err != nil {
			continue
		}
		errs = append(errs, lk.Remove())
	}
	return errors.Join(errs...)
}

func (c *Cache) removeLayer(d digest.Digest) (int64, error) {
	key := layerKey(d)
	trash := c.path("staging", "trash-"+key)
	if err := os.Rename(filepath.Dir(c.Dir(d)), trash); err != nil {
		return 0, fmt.Errorf("unpublish layer %s: %w", d, err)
	}
	fault.Point("image-prune/after-unpublish")
	n, err := removeAllAt(unix.AT_FDCWD, trash, map[uint64]bool{})
	if err != nil {
		return n, fmt.Errorf("remove layer %s: %w", d, err)
	}
	// Nobody can be waiting on the layer lock: Ensure takes it only under
	// the shared cache lock, which we hold exclusively.
	if err := os.Remove(c.path("locks", key+".lock")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return n, fmt.Errorf("remove layer lock: %w", err)
	}
	return n, nil
}
