package rootfs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/diskspace"
	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// Layer is one layer to make available in the cache.
type Layer struct {
	DiffID    digest.Digest                 // from the image config's rootfs.diff_ids
	MediaType string                        // OCI/Docker layer media type; compression is sniffed
	Open      func() (io.ReadCloser, error) // the (compressed) blob, already digest-verified
}

// Cache is the store of unpacked layers under one directory:
//
//	cache.lock                   shared by Ensure, exclusive by Prune
//	idmap                        the ownership policy and ID mapping the layers were unpacked with
//	locks/<algo>-<hex>.lock      one per layer, held while unpacking it
//	staging/<algo>-<hex>-<rand>/ a layer being unpacked (removed after a crash)
//	<algo>/<hex>/rootfs/         the published layer tree (read-only by convention)
//	<algo>/<hex>/complete        the completion marker (JSON Stats)
type Cache struct {
	dir      string
	parallel int
	unpack   UnpackOptions
}

// CacheOptions configures OpenCache. The zero value is the defaults.
type CacheOptions struct {
	// Parallel bounds how many layers Ensure unpacks at once; 0 means
	// GOMAXPROCS, and a negative value counts as 1.
	Parallel int
	// Unpack is passed to every unpack (limits, rootless). Its DiffID and
	// MediaType are ignored: each layer's own are checked.
	Unpack UnpackOptions
}

const completeName = "complete"

// OpenCache opens (creating if needed) the layer cache in dir.
func OpenCache(dir string, opts CacheOptions) (*Cache, error) {
	c := &Cache{dir: dir, parallel: runtime.GOMAXPROCS(0), unpack: opts.Unpack}
	if opts.Parallel != 0 {
		c.parallel = max(opts.Parallel, 1)
	}
	for _, d := range []string{dir, c.path("locks"), c.path("staging"), c.path(string(digest.SHA256))} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create layer cache %s: %w", d, err)
		}
	}
	if err := c.cleanStaging(false); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Cache) path(elem ...string) string {
	return filepath.Join(append([]string{c.dir}, elem...)...)
}

func layerKey(d digest.Digest) string { return d.Algorithm().String() + "-" + d.Encoded() }

// Dir is where the published tree of diffID lives (whether or not it exists).
func (c *Cache) Dir(diffID digest.Digest) string {
	return c.path(diffID.Algorithm().String(), diffID.Encoded(), "rootfs")
}

// Has reports whether the layer is unpacked and published.
func (c *Cache) Has(diffID digest.Digest) bool {
	if diffID.Validate() != nil {
		return false
	}
	_, err := os.Stat(c.path(diffID.Algorithm().String(), diffID.Encoded(), completeName))
	return err == nil
}

// Ensure unpacks the layers that are not in the cache yet (in parallel) and
// returns their tree directories in the order given (bottom first). Each
// layer's diff ID is verified before it is published; on any error nothing
// of that layer is published.
func (c *Cache) Ensure(ctx context.Context, layers []Layer) ([]string, error) {
	return c.EnsureWith(ctx, layers, UnpackOptions{})
}

// EnsureWith is Ensure with this call's own unpack limits: those set in
// limits (MaxBytes, MaxEntries, ZstdWindow, MaxRatio, MinFree, DiskSpace;
// Rootless) replace the cache's, the others stay the cache's. load and
// pull pass the user's --max-layer-ratio and --min-free here.
func (c *Cache) EnsureWith(ctx context.Context, layers []Layer, limits UnpackOptions) ([]string, error) {
	opts := c.unpack.with(limits)
	for i, l := range layers {
		if err := l.DiffID.Validate(); err != nil {
			return nil, fmt.Errorf("layer %d: diff ID %q: %w", i, l.DiffID, err)
		}
		if l.Open == nil {
			return nil, fmt.Errorf("layer %d (%s): no blob to open", i, l.DiffID)
		}
		if err := checkMediaType(l.MediaType); err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i, l.DiffID, err)
		}
	}
	if err := c.checkOwners(ctx, opts.Rootless); err != nil {
		return nil, err
	}
	lk, err := lockfile.Shared(ctx, c.path("cache.lock"))
	if err != nil {
		return nil, err
	}
	defer lk.Unlock()
	if err := c.cleanStaging(false); err != nil {
		return nil, err
	}
	dirs := make([]string, len(layers))
	// The layers unpack at once onto one file system: one guard keeps
	// the reserve for all of them (each its own would let the others eat
	// the headroom it counts on).
	if opts.space == nil && len(layers) > 1 {
		cfg := newUnpackConfig(opts)
		opts.space = diskspace.NewGuard(c.path("staging"), cfg.minFree, cfg.diskSpace)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.parallel)
	for i, l := range layers {
		dirs[i] = c.Dir(l.DiffID)
		g.Go(func() error { return c.ensureOne(gctx, l, opts) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return dirs, nil
}

func (c *Cache) ensureOne(ctx context.Context, l Layer, opts UnpackOptions) error {
	if c.Has(l.DiffID) {
		return nil
	}
	key := layerKey(l.DiffID)
	lk, err := lockfile.Exclusive(ctx, c.path("locks", key+".lock"))
	if err != nil {
		return err
	}
	defer lk.Unlock()
	if c.Has(l.DiffID) {
		return nil // another process or goroutine published it while we waited
	}
	staging, err := os.MkdirTemp(c.path("staging"), key+"-")
	if err != nil {
		return fmt.Errorf("create staging dir for layer %s: %w", l.DiffID, err)
	}
	if err := c.unpackInto(ctx, staging, l, opts); err != nil {
		if _, rerr := removeAllAt(unix.AT_FDCWD, staging, nil); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return fmt.Errorf("layer %s: %w", l.DiffID, err)
	}
	return nil
}

// unpackInto unpacks l into staging/rootfs, writes the marker, syncs the
// filesystem once (syncfs) and publishes staging by rename.
func (c *Cache) unpackInto(ctx context.Context, staging string, l Layer, opts UnpackOptions) error {
	tree := filepath.Join(staging, "rootfs")
	if err := os.Mkdir(tree, 0o755); err != nil {
		return err
	}
	rc, err := l.Open()
	if err != nil {
		return fmt.Errorf("open blob: %w", err)
	}
	opts.DiffID, opts.MediaType = l.DiffID, l.MediaType
	st, err := Unpack(ctx, rc, tree, opts)
	rc.Close()
	if err != nil {
		return err
	}
	marker, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(staging, completeName), marker, 0o600); err != nil {
		return err
	}
	// One syncfs instead of an fsync per file: everything below staging is
	// durable before the rename makes it visible.
	if err := syncfs(staging); err != nil {
		return err
	}
	final := filepath.Dir(c.Dir(l.DiffID))
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return err
	}
	// A dir without marker can only be debris; the layer lock is ours.
	if _, err := removeAllAt(unix.AT_FDCWD, final, nil); err != nil {
		return err
	}
	fault.Point("layers/before-publish")
	if err := atomicfile.Rename(staging, final); err != nil {
		return fmt.Errorf("publish layer: %w", err)
	}
	return nil
}

// with returns o with the limits set in call in place of o's own.
func (o UnpackOptions) with(call UnpackOptions) UnpackOptions {
	if call.MaxBytes != 0 {
		o.MaxBytes = call.MaxBytes
	}
	if call.MaxEntries != 0 {
		o.MaxEntries = call.MaxEntries
	}
	if call.ZstdWindow != 0 {
		o.ZstdWindow = call.ZstdWindow
	}
	if call.MaxRatio != 0 {
		o.MaxRatio = call.MaxRatio
	}
	if call.MinFree != 0 {
		o.MinFree = call.MinFree
	}
	if call.DiskSpace != nil {
		o.DiskSpace = call.DiskSpace
	}
	o.Rootless = o.Rootless || call.Rootless
	return o
}

// cleanStaging removes staging dirs left by crashed processes: those whose
// layer lock nobody holds (or all of them, when the caller holds the cache
// lock exclusively).
func (c *Cache) cleanStaging(all bool) error {
	entries, err := os.ReadDir(c.path("staging"))
	if err != nil {
		return fmt.Errorf("read staging dir: %w", err)
	}
	for _, e := range entries {
		if !all {
			// staging/<key>-<rand> of an unpack, staging/trash-<key> of a
			// prune: both under the layer's lock file.
			key, trash := strings.CutPrefix(e.Name(), "trash-")
			if i := strings.LastIndexByte(key, '-'); i > 0 && !trash {
				key = key[:i]
			}
			lk, err := lockfile.TryExclusive(c.path("locks", key+".lock"))
			if err != nil {
				continue // a live process is unpacking it
			}
			defer lk.Unlock()
		}
		if _, err := removeAllAt(unix.AT_FDCWD, c.path("staging", e.Name()), nil); err != nil {
			return fmt.Errorf("remove leftover staging dir: %w", err)
		}
	}
	return nil
}
