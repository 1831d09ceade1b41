package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/edgerun/edgerun/rootfs"
)

// CopyOptions are the flags of `edgerun cp` for one container side.
type CopyOptions struct {
	// Archive keeps owners (cp -a); without it files copied into the
	// container belong to its root, files copied out to the caller.
	Archive bool
	// FollowLink follows a symbolic link at the source path (cp -L).
	FollowLink bool
}

// ErrCopyMount is returned for a container path at or under one of the
// container's mounts: cp reads and writes the container's root file
// system only.
var ErrCopyMount = errors.New("path is on a mount of the container")

// CopyFrom writes the file or tree at src in the container's root file
// system to w as a tar stream (rootfs.Archive's rules: resolved inside
// the root, links never followed out of it). A stopped container's root
// file system is mounted for the copy and unmounted after.
func (r *Runtime) CopyFrom(ctx context.Context, ref, src string, w io.Writer, opts CopyOptions) error {
	return r.withRootfs(ctx, ref, src, func(root string) error {
		return rootfs.Archive(ctx, w, root, src, rootfs.ArchiveOptions{FollowLink: opts.FollowLink})
	})
}

// CopyTo extracts the tar stream rd into the container's root file system
// at dest: by docker's rules when rd is what rootfs.Archive wrote
// (stream false), as it is into the directory dest when it comes from
// outside (stream true, cp - CONTAINER:DEST). Writes never follow a link
// out of the root (rootfs.CopyInto).
func (r *Runtime) CopyTo(ctx context.Context, ref, dest string, rd io.Reader, stream bool, opts CopyOptions) error {
	return r.withRootfs(ctx, ref, dest, func(root string) error {
		return rootfs.CopyInto(ctx, rd, root, dest, rootfs.CopyOptions{Stream: stream, KeepOwners: opts.Archive,
			Extract: rootfs.ExtractOptions{Chown: true, Rootless: r.cfg.Rootless}})
	})
}

// withRootfs runs fn on the container's root file system under the
// container's lock, mounting it first when the container is stopped.
func (r *Runtime) withRootfs(ctx context.Context, ref, p string, fn func(root string) error) (err error) {
	rec, lock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer r.unlock(lock, rec.ID)
	if err := r.checkCopyPath(rec, p); err != nil {
		return err
	}
	dir := r.containerDir(rec.ID)
	mounted, err := rootfs.Mounted(dir)
	if err != nil {
		return err
	}
	if !mounted && rec.State != StateRunning {
		if err := r.mountRootfs(ctx, rec); err != nil {
			return err
		}
		defer func() {
			if now, _ := rootfs.Mounted(dir); now {
				if uerr := rootfs.Unmount(dir); uerr != nil {
					err = errors.Join(err, fmt.Errorf("unmount the root file system of %s after the copy: %w", rec.Name, uerr))
				}
			}
		}()
	}
	return fn(path.Join(dir, "rootfs"))
}

// checkCopyPath refuses a path at or under one of the container's mounts
// (volumes, bind mounts, tmpfs, /proc, /dev, /etc/hosts): what the
// container sees there is not in its root file system, and writing under
// it would land in a directory the mount hides.
func (r *Runtime) checkCopyPath(rec *Record, p string) error {
	spec, err := r.loadSpec(rec.ID)
	if err != nil {
		return err
	}
	clean := path.Clean("/" + p)
	for _, m := range spec.Mounts {
		d := path.Clean(m.Destination)
		if d != "/" && (clean == d || strings.HasPrefix(clean, d+"/")) {
			return fmt.Errorf("%s in %s: %w (%s, %s): cp reads and writes only the root file system; "+
				"copy to or from the mount's source on the host instead", p, rec.Name, ErrCopyMount, d, m.Type)
		}
	}
	return nil
}
