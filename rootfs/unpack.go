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
)

// Default unpack limits. They are far above any real image layer and far
// below what would exhaust a gateway's disk or memory.
const (
	DefaultMaxBytes   int64 = 32 << 30 // uncompressed tar stream
	DefaultMaxEntries       = 1 << 20
	DefaultZstdWindow       = 128 << 20 // zstd --long=27
)

// Stats describes one unpacked layer.
type Stats struct {
	DiffID    digest.Digest // digest of the uncompressed tar stream
	Bytes     int64         // size of the uncompressed tar stream
	Entries   int
	Files     int
	Dirs      int
	Symlinks  int
	Links     int // hardlinks
	Devices   int // device nodes and fifos created
	Whiteouts int
	// Skipped counts what the policy left out: device nodes when not
	// privileged, ownership when not privileged, xattrs outside the allowed
	// set or refused by the filesystem, aufs ".wh..wh." metadata entries.
	SkippedDevices int
	SkippedXattrs  int
	SkippedOther   int
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
	// Rootless forces the unprivileged policy (no chown, no device nodes,
	// user.overlay.* whiteout format) even when running as real root.
	// Without it the policy is chosen by Privileged().
	Rootless bool
}

// unpackConfig is Unpack's plan, built from the caller's UnpackOptions.
type unpackConfig struct {
	diffID     digest.Digest
	mediaType  string
	maxBytes   int64
	maxEntries int
	zstdWindow uint64
	privileged bool
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
		privileged: !opts.Rootless && Privileged(),
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
	stream, err := openStream(r, cfg)
	if err != nil {
		return st, err
	}
	defer stream.Close()
	t, err := openTree(dst)
	if err != nil {
		return st, err
	}
	defer t.close()
	u := &unpacker{t: t, cfg: cfg, st: &st, buf: make([]byte, 256<<10), news: probeNewNodes(t.root, cfg.privileged)}
	if err := u.run(ctx, tar.NewReader(stream)); err != nil {
		return st, err
	}
	if _, err := io.CopyBuffer(io.Discard, stream, u.buf); err != nil {
		return st, streamErr(err)
	}
	st.Bytes, st.DiffID = stream.Sum()
	if cfg.diffID != "" && st.DiffID != cfg.diffID {
		return st, fmt.Errorf("%w: config says %s, content is %s: the image is corrupt, pull it again",
			ErrDiffIDMismatch, cfg.diffID, st.DiffID)
	}
	return st, nil
}

func (u *unpacker) run(ctx context.Context, tr *tar.Reader) error {
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
		err = u.entry(hdr, tr)
		u.t.release()
		if err != nil {
			return fmt.Errorf("unpack %q: %w", hdr.Name, err)
		}
	}
	return u.finishDirs()
}

// streamErr classifies an error from reading the (decompressed) stream.
func streamErr(err error) error {
	if errors.Is(err, ErrTooLarge) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrCorruptLayer, err)
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
