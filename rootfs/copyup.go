package rootfs

import (
	"context"
	"errors"
	"fmt"
	"os"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// CopyUp copies what a container's root file system holds at dest into
// dir, a new named volume's directory, as docker and podman do when a new
// volume is first mounted: files, directories, symlinks (as given, never
// followed), fifos, device nodes only when Privileged, owners and modes
// under the snapshot's ownership policy (see # Privileges), times and the
// allowed xattrs; and the image directory's own owner and mode on dir.
// dest is resolved inside rootfs with pathrs-lite, so an image whose
// mount point is a symlink cannot make it read anything outside; the
// copy is fd-relative and never follows a symlink, in rootfs or in dir.
// A dest that does not exist, or is not a directory, copies nothing. It
// reports whether dest was a directory, and syncs dir's file system.
func CopyUp(ctx context.Context, rootfs, dest, dir string) (bool, error) {
	root, err := os.OpenFile(rootfs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, fmt.Errorf("copy %s into the volume: %w", dest, err)
	}
	defer root.Close()
	handle, err := pathrs.OpenatInRoot(root, dest)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return false, nil // nothing there to copy
	}
	if err != nil {
		return false, fmt.Errorf("copy %s into the volume: %w", dest, err)
	}
	defer handle.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(handle.Fd()), &st); err != nil {
		return false, fmt.Errorf("copy %s into the volume: %w", dest, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false, nil // a file or symlink at the mount point: docker copies nothing either
	}
	src, err := pathrs.Reopen(handle, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return false, fmt.Errorf("copy %s into the volume: %w", dest, err)
	}
	defer src.Close()
	if err := copyInto(ctx, int(src.Fd()), dir, &st); err != nil {
		return true, fmt.Errorf("copy %s into the volume: %w", dest, err)
	}
	return true, nil
}

// copyInto copies the directory open as sfd (of stat st) into dir.
func copyInto(ctx context.Context, sfd int, dir string, st *unix.Stat_t) error {
	dfd, err := unix.Open(dir, dirFlags, 0)
	if err != nil {
		return fmt.Errorf("open the volume: %w", err)
	}
	defer unix.Close(dfd)
	ids, err := ownerIDs(false)
	if err != nil {
		return err
	}
	m := &merger{privileged: Privileged(), ids: ids, buf: make([]byte, 1<<20)}
	if err := m.mergeDir(ctx, sfd, dfd); err != nil {
		return err
	}
	if err := m.copyAttrs(sfd, dfd, st); err != nil {
		return err
	}
	if err := unix.Syncfs(dfd); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}
