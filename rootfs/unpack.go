package rootfs

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/moby/sys/userns"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/diskspace"
)

// Default unpack limits. They are far above any real image layer and far
// below what would exhaust a gateway's disk or memory.
const (
	DefaultMaxBytes   int64 = 32 << 30 // uncompressed tar stream
	DefaultMaxEntries       = 1 << 20
	DefaultZstdWindow       = 128 << 20 // zstd --long=27
	// DefaultMaxRatio bounds how many times its compressed size a layer
	// may unpack to. Real layers stay far below: distribution layers
	// unpack to 2-2.5 times their gzip size, source trees and locales 3-6
	// times, C headers 13 times with zstd --ultra -22; a stream of zeros
	// does 1000 times with gzip and thousands with zstd.
	DefaultMaxRatio = 100
	// RatioFloor is what any layer may unpack to whatever its ratio: small
	// layers (a directory, an empty file, a few zeros) compress far better
	// than DefaultMaxRatio to 1 and cannot hurt.
	RatioFloor int64 = 16 << 20
)

// Stats describes one unpacked layer.
type Stats struct {
	DiffID digest.Digest // digest of the uncompressed tar stream
	Bytes  int64         // size of the uncompressed tar stream
	// FileBytes is what the layer's files hold: the sizes of its regular
	// files (a hard link adds nothing) and the lengths of its symlinks'
	// targets, the apparent size docker's disk usage counts. A marker
	// written before it was recorded has 0 here with Files above 0.
	FileBytes int64
	Entries   int
	Files     int
	Dirs      int
	Symlinks  int
	Links     int // hardlinks
	Devices   int // device nodes and fifos created
	Whiteouts int
	// Skipped counts what the policy left out: device nodes when not
	// privileged, xattrs outside the allowed set or refused by the
	// filesystem, aufs ".wh..wh." metadata entries.
	SkippedDevices int
	SkippedXattrs  int
	SkippedOther   int
	// Unmapped counts the entries whose owner (uid, gid or both) this
	// user namespace does not map: they belong to its root (0) instead.
	// UnmappedSetID counts those of them that lost a setuid or setgid bit
	// with it.
	Unmapped      int
	UnmappedSetID int
}

// UnpackOptions configures Unpack. The zero value unpacks with the default
// limits, checks neither media type nor diff ID, and chooses the policy by
// Privileged.
type UnpackOptions struct {
	// DiffID, when set, is verified against the uncompressed stream. On a
	// mismatch Unpack fails with ErrDiffIDMismatch (dst then holds a
	// partial tree the caller must discard; Cache.Ensure does).
	DiffID digest.Digest
	// MediaType, when set, must be an OCI or Docker layer type; the
	// compression itself is always decided by the magic bytes (see the
	// package documentation).
	MediaType string
	// MaxBytes bounds the uncompressed stream (and the sum of file sizes);
	// 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxEntries bounds the number of tar entries; 0 means
	// DefaultMaxEntries.
	MaxEntries int
	// ZstdWindow bounds the zstd window (and so the decoder's memory); 0
	// means DefaultZstdWindow.
	ZstdWindow uint64
	// MaxRatio bounds the uncompressed stream to this many times the
	// compressed one, beyond RatioFloor: a decompression bomb is stopped
	// early instead of at MaxBytes. 0 means DefaultMaxRatio; a negative
	// value sets no limit (an image with large runs of zeros, such as a
	// preallocated file, may need that). The compressed size is the rest
	// of r when r is a file or an in-memory reader, else what was read.
	MaxRatio int
	// MinFree is how many bytes to keep free on dst's file system: Unpack
	// checks before it starts and as it goes, and stops with ErrNoSpace
	// while that much is left. 0 means diskspace.DefaultReserve (5% of
	// the file system, at least 256 MiB, at most 4 GiB, at most a
	// quarter of it). Inodes are kept free the same way
	// (diskspace.DefaultInodeReserve: 1%, at most 4096). A negative value
	// checks nothing, bytes or inodes.
	MinFree int64
	// DiskSpace replaces statfs(2) as the probe of dst's file system;
	// nil means statfs.
	DiskSpace diskspace.Probe
	// Rootless forces the unprivileged policy (no chown, no device nodes,
	// user.overlay.* whiteout format) even when running as root. Without
	// it the policy is chosen by Privileged() and, for root in a user
	// namespace, by its ID mapping (see # Privileges).
	Rootless bool

	// space is the guard of the file system when several layers unpack
	// into it at once (Cache.EnsureWith): one guard counts all their
	// files and bytes, so that together they keep the reserve; nil: a
	// guard of this unpack's own.
	space *diskspace.Guard
	// writers is the number of file writer goroutines: 0 as many as
	// writerCount says, below 0 none (tests run both ways).
	writers int
}

// unpackConfig is Unpack's plan, built from the caller's UnpackOptions.
type unpackConfig struct {
	diffID     digest.Digest
	mediaType  string
	maxBytes   int64
	maxEntries int
	zstdWindow uint64
	maxRatio   int64 // 0: no limit
	minFree    int64 // as diskspace.NewGuard takes it
	diskSpace  diskspace.Probe
	privileged bool   // devices, trusted.overlay.* whiteouts
	ids        *IDMap // the IDs entries may be chowned to; nil: no chown (set by Unpack)
	plainNames bool   // .wh. names are ordinary files (Extract: not a layer)
	writers    int    // UnpackOptions.writers
}

// Privileged reports whether this process can chown and mknod freely: it is
// root in the initial user namespace.
func Privileged() bool {
	return os.Geteuid() == 0 && !userns.RunningInUserNS()
}

func newUnpackConfig(opts UnpackOptions) *unpackConfig {
	c := &unpackConfig{
		diffID:     opts.DiffID,
		mediaType:  opts.MediaType,
		maxBytes:   opts.MaxBytes,
		maxEntries: opts.MaxEntries,
		zstdWindow: opts.ZstdWindow,
		maxRatio:   int64(opts.MaxRatio),
		minFree:    opts.MinFree,
		diskSpace:  opts.DiskSpace,
		privileged: !opts.Rootless && Privileged(),
		writers:    opts.writers,
	}
	if c.maxBytes == 0 {
		c.maxBytes = DefaultMaxBytes
	}
	if c.maxEntries == 0 {
		c.maxEntries = DefaultMaxEntries
	}
	if c.zstdWindow == 0 {
		c.zstdWindow = DefaultZstdWindow
	}
	switch {
	case c.maxRatio == 0:
		c.maxRatio = DefaultMaxRatio
	case c.maxRatio < 0:
		c.maxRatio = 0
	}
	if c.diskSpace == nil {
		c.diskSpace = diskspace.Statfs
	}
	return c
}

// Unpack extracts the tar stream r (gzip, zstd or uncompressed, detected by
// magic bytes) into dst, an existing empty directory, following the policy
// in the package documentation. It does not sync: Cache.Ensure syncs the
// whole layer once with syncfs(2) before publishing it.
func Unpack(ctx context.Context, r io.Reader, dst string, opts UnpackOptions) (Stats, error) {
	cfg := newUnpackConfig(opts)
	var st Stats
	if err := checkMediaType(cfg.mediaType); err != nil {
		return st, err
	}
	if cfg.diffID != "" {
		if err := cfg.diffID.Validate(); err != nil {
			return st, fmt.Errorf("diff ID %q: %w", cfg.diffID, err)
		}
	}
	ids, err := ownerIDs(opts.Rootless)
	if err != nil {
		return st, err
	}
	cfg.ids = ids
	space := opts.space
	if space == nil {
		space = diskspace.NewGuard(dst, cfg.minFree, cfg.diskSpace)
	}
	if err := space.Check(); err != nil {
		return st, noSpace(err)
	}
	stream, err := openStream(ctx, r, cfg, space)
	if err != nil {
		return st, err
	}
	defer stream.Close()
	t, err := openTree(dst)
	if err != nil {
		return st, err
	}
	defer t.close()
	u := newUnpacker(t, cfg, &st, space)
	if err := u.run(ctx, tar.NewReader(stream)); err != nil {
		return st, err
	}
	if _, err := io.CopyBuffer(io.Discard, stream, u.buf); err != nil {
		return st, streamErr(err)
	}
	st.Bytes, st.DiffID = stream.Sum()
	st.FileBytes = u.size + u.linkBytes
	if cfg.diffID != "" && st.DiffID != cfg.diffID {
		return st, fmt.Errorf("%w: config says %s, content is %s: the image is corrupt, pull it again",
			ErrDiffIDMismatch, cfg.diffID, st.DiffID)
	}
	return st, nil
}

func (u *unpacker) run(ctx context.Context, tr *tar.Reader) error {
	n := u.cfg.writers
	if n == 0 {
		n = writerCount()
	}
	if n > 0 {
		u.w = startWriters(u, n)
	}
	err := u.entries(ctx, tr)
	if u.w != nil {
		// Every file is finished (or failed) before the directories get
		// their attributes and before the caller syncs or discards.
		if werr := u.w.stop(); err == nil {
			err = werr
		}
		u.w = nil
	}
	if err != nil {
		return err
	}
	return u.finishDirs()
}

func (u *unpacker) entries(ctx context.Context, tr *tar.Reader) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return streamErr(err)
		}
		u.st.Entries++
		if u.st.Entries > u.cfg.maxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrTooLarge, u.cfg.maxEntries)
		}
		if err := u.space.Created(1); err != nil {
			return noSpace(err)
		}
		err = u.entry(hdr, tr)
		u.t.release()
		if u.w != nil {
			// A writer's failure names its own file, and may be why
			// this entry stopped.
			if werr := u.w.failed(); werr != nil {
				return werr
			}
		}
		if err != nil {
			return fmt.Errorf("unpack %q: %w", hdr.Name, err)
		}
	}
	return nil
}

// streamErr classifies an error from reading the (decompressed) stream.
func streamErr(err error) error {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrNoSpace) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrCorruptLayer, err)
}

// noSpace says what to do when the layer's file system reached its reserve.
func noSpace(err error) error {
	var low *diskspace.LowError
	switch {
	case errors.As(err, &low) && low.Inodes:
		return fmt.Errorf("%w: %w: free inodes (edgerun image prune, or remove files), or turn the check off (--min-free 0)", ErrNoSpace, err)
	case errors.As(err, &low):
		return fmt.Errorf("%w: %w: free space (edgerun image prune) or lower the reserve (--min-free)", ErrNoSpace, err)
	}
	return err
}

// syncfs flushes the filesystem holding path: one call per layer instead of
// an fsync per file.
func syncfs(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s for syncfs: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("syncfs %s: %w", path, err)
	}
	return nil
}
