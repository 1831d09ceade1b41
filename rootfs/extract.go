package rootfs

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/diskspace"
)

// ExtractOptions configures Extract.
type ExtractOptions struct {
	// Chown gives new files the owners the stream names (as far as this
	// user namespace maps them, as Unpack does); without it they belong
	// to the caller.
	Chown bool
	// Rootless forces the unprivileged policy, as UnpackOptions.Rootless.
	Rootless bool
}

// Extract unpacks the tar stream r (compressed or not) into the directory
// dir with Unpack's rules: every parent is resolved inside dir with
// pathrs-lite, the last component by *at calls that never follow it, an
// existing entry is replaced (not written through), names with ".." that
// climb out are refused, absolute names are taken relative to dir, device
// nodes are made only when privileged. Unlike a layer, names starting with
// ".wh." are ordinary files, and the stream has no size ratio to keep (it
// is no layer). It is `edgerun cp`'s writer, on both sides.
func Extract(ctx context.Context, r io.Reader, dir *os.File, opts ExtractOptions) (Stats, error) {
	var st Stats
	cfg := newUnpackConfig(UnpackOptions{MaxRatio: -1, Rootless: opts.Rootless})
	cfg.plainNames = true
	if opts.Chown {
		ids, err := ownerIDs(opts.Rootless)
		if err != nil {
			return st, err
		}
		cfg.ids = ids
	}
	fd, err := unix.Openat(int(dir.Fd()), ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return st, fmt.Errorf("open the destination directory: %w", err)
	}
	t := &tree{root: os.NewFile(uintptr(fd), dir.Name()), dirs: map[string]*os.File{}}
	defer t.close()
	space := diskspace.NewGuard("/proc/self/fd/"+strconv.Itoa(fd), cfg.minFree, cfg.diskSpace)
	if err := space.Check(); err != nil {
		return st, noSpace(err)
	}
	stream, err := openStream(ctx, r, cfg, space)
	if err != nil {
		return st, err
	}
	defer stream.Close()
	u := newUnpacker(t, cfg, &st, space)
	if err := u.run(ctx, tar.NewReader(stream)); err != nil {
		return st, err
	}
	return st, nil
}
