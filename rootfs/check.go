package rootfs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// CheckCache is the layer cache's part of `edgerun check`: it finds
// published layer directories without their complete marker (a layer is
// published by renaming a staging directory that holds its marker, so one
// without it was damaged after the fact) and staging directories that no
// live process is unpacking into. Without Repair it only reads; it never
// opens the cache (OpenCache cleans staging). With Repair, under the cache
// lock taken exclusively (no Ensure or Prune runs meanwhile), staging
// leftovers are removed, and a layer without its marker is removed when no
// container uses it (Ensure unpacks it again from its blob when an image
// needs it) or moved to opts.Quarantine when one does (deleting files
// under a running container's overlay would pull them from under it).

// CacheCheckOptions configures CheckCache.
type CacheCheckOptions struct {
	// InUse says whether a container uses the layer with this diff ID;
	// nil means none does.
	InUse func(diffID digest.Digest) bool
	// Quarantine is where a damaged layer a container uses is moved to
	// (a directory on the same file system).
	Quarantine string
	// Repair fixes what is found.
	Repair bool
}

// Finding is one thing CheckCache found wrong, and what repair does about it.
type Finding struct {
	Kind     string // stable name, e.g. layer-incomplete
	Where    string // the directory
	Problem  string // what is wrong
	Repair   string // what repair does about it
	Repaired bool   // the repair was done
	Err      error  // why the repair failed
}

// The kinds of findings.
const (
	findLayerIncomplete = "layer-incomplete"
	findStagingLeftover = "layer-staging-leftover"
)

type finding struct {
	Finding
	fix func() error
}

// CheckCache checks the layer cache in dir (see above). A missing cache
// has nothing to check.
func CheckCache(ctx context.Context, dir string, opts CacheCheckOptions) ([]Finding, error) {
	c := &Cache{dir: dir}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if opts.InUse == nil {
		opts.InUse = func(digest.Digest) bool { return false }
	}
	// Staging first: a layer's removal renames it into staging.
	found := c.checkStaging()
	layers, err := c.checkLayers(opts)
	if err != nil {
		return nil, err
	}
	found = append(found, layers...)
	if opts.Repair && len(found) > 0 {
		lk, err := lockfile.Exclusive(ctx, c.path("cache.lock"))
		if err != nil {
			return nil, fmt.Errorf("lock layer cache for repair: %w", err)
		}
		for _, f := range found {
			f.Err = f.fix()
			f.Repaired = f.Err == nil
		}
		lk.Unlock()
	}
	out := make([]Finding, len(found))
	for i, f := range found {
		out[i] = f.Finding
	}
	return out, nil
}

// checkLayers finds published layer directories without their marker
// whose layer lock nobody holds.
func (c *Cache) checkLayers(opts CacheCheckOptions) ([]*finding, error) {
	algo := digest.SHA256
	ents, err := os.ReadDir(c.path(algo.String()))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("check layer cache: %w", err)
	}
	var found []*finding
	for _, e := range ents {
		d := digest.NewDigestFromEncoded(algo, e.Name())
		if d.Validate() != nil || c.Has(d) || lockfile.Held(c.path("locks", layerKey(d)+".lock")) {
			continue
		}
		where := filepath.Dir(c.Dir(d))
		f := &finding{Finding: Finding{Kind: findLayerIncomplete, Where: where,
			Problem: "unpacked layer " + d.String() + " has no " + completeName + " marker"}}
		if opts.InUse(d) {
			dst := filepath.Join(opts.Quarantine, layerKey(d))
			f.Problem += " (a container uses it)"
			f.Repair = "move it to " + dst + " (it is unpacked again from its image)"
			f.fix = func() error { return quarantineDir(where, dst, f.Problem) }
		} else {
			f.Repair = "remove it (it is unpacked again from its image when needed)"
			f.fix = func() error { _, err := c.removeLayer(d); return err }
		}
		found = append(found, f)
	}
	return found, nil
}

// checkStaging finds staging directories of unpacks whose process is gone
// (nobody holds their layer lock), and the trash of an interrupted Prune
// (nobody holds the cache lock).
func (c *Cache) checkStaging() []*finding {
	ents, err := os.ReadDir(c.path("staging"))
	if err != nil {
		return nil
	}
	cacheBusy := lockfile.Held(c.path("cache.lock"))
	var found []*finding
	for _, e := range ents {
		name := e.Name()
		busy := cacheBusy
		if !strings.HasPrefix(name, "trash-") {
			key := name
			if i := strings.LastIndexByte(key, '-'); i > 0 {
				key = key[:i]
			}
			busy = lockfile.Held(c.path("locks", key+".lock"))
		}
		if busy {
			continue
		}
		p := c.path("staging", name)
		found = append(found, &finding{
			Finding: Finding{Kind: findStagingLeftover, Where: p,
				Problem: "a layer being unpacked or removed by a process that is gone", Repair: "remove it"},
			fix: func() error {
				_, err := removeAllAt(unix.AT_FDCWD, p, nil)
				return err
			},
		})
	}
	return found
}

// quarantineDir moves dir to dst (dst-<time> when dst exists), with a
// QUARANTINED note inside saying why.
func quarantineDir(dir, dst, why string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		dst += "-" + time.Now().UTC().Format("20060102T150405.000000000")
	}
	note := fmt.Sprintf("%s\nmoved here from %s on %s\n", why, dir, time.Now().UTC().Format(time.RFC3339))
	if err := atomicfile.WriteFile(filepath.Join(dir, "QUARANTINED"), []byte(note), 0o600); err != nil {
		return err
	}
	return atomicfile.Rename(dir, dst)
}

// CacheHas reports whether the cache in dir has the layer published (with
// its marker), without opening the cache.
func CacheHas(dir string, diffID digest.Digest) bool { return (&Cache{dir: dir}).Has(diffID) }
