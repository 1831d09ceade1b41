package rootfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// merger copies layer trees into one directory, applying overlay whiteouts
// and opaque directories as overlayfs would. All operations are relative to
// directory fds and never follow symlinks, so a symlink from a lower layer
// cannot redirect a write from an upper one. Hardlinks between files are
// not preserved (each name gets its own copy). Owners are copied under the
// unpacker's ownership policy (ids), so the copy matches the layers.
type merger struct {
	privileged bool   // device nodes, trusted.overlay.* opaque markers
	ids        *IDMap // the IDs owners may be copied as; nil: owners are not copied
	buf        []byte
}

// owner is the owner and mode the copy of a node of st gets.
func (m *merger) owner(st *unix.Stat_t) owner {
	return ownerOf(m.ids, int(st.Uid), int(st.Gid), st.Mode&0o7777, st.Mode&unix.S_IFMT == unix.S_IFDIR)
}

// chownAt gives base (itself, never a symlink's target) the owner of st.
func (m *merger) chownAt(dfd int, name string, st *unix.Stat_t) error {
	if m.ids == nil {
		return nil
	}
	o := m.owner(st)
	return unix.Fchownat(dfd, name, o.uid, o.gid, unix.AT_SYMLINK_NOFOLLOW)
}

const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC

func (m *merger) mergeTree(ctx context.Context, src, dst string) error {
	sfd, err := unix.Open(src, dirFlags, 0)
	if err != nil {
		return fmt.Errorf("open layer: %w", err)
	}
	defer unix.Close(sfd)
	dfd, err := unix.Open(dst, dirFlags, 0)
	if err != nil {
		return fmt.Errorf("open target: %w", err)
	}
	defer unix.Close(dfd)
	return m.mergeDir(ctx, sfd, dfd)
}

func (m *merger) mergeDir(ctx context.Context, sfd, dfd int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	names, err := readNames(sfd)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := m.mergeEntry(ctx, sfd, dfd, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func readNames(dirfd int) ([]string, error) {
	fd, err := unix.Openat(dirfd, ".", dirFlags, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	return f.Readdirnames(-1)
}

func (m *merger) mergeEntry(ctx context.Context, sfd, dfd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return m.mergeSubdir(ctx, sfd, dfd, name, &st)
	case unix.S_IFREG:
		return m.copyFile(sfd, dfd, name, &st)
	case unix.S_IFLNK:
		return m.copySymlink(sfd, dfd, name, &st)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		return m.copySpecial(dfd, name, &st)
	}
	return nil // sockets have no meaning in an image
}

// replace removes dst's name unless it is a directory and keepDir is set;
// it reports whether a directory was kept.
func replace(dfd int, name string, keepDir bool) (bool, error) {
	var st unix.Stat_t
	err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if keepDir && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return true, nil
	}
	return false, removeAt(dfd, name)
}

func (m *merger) mergeSubdir(ctx context.Context, sfd, dfd int, name string, st *unix.Stat_t) error {
	sub, err := unix.Openat(sfd, name, dirFlags, 0)
	if err != nil {
		return err
	}
	defer unix.Close(sub)
	buf := make([]byte, 4)
	n, _ := unix.Fgetxattr(sub, opaqueXattr(m.privileged), buf)
	opaque := n == 1 && buf[0] == 'y'
	kept, err := replace(dfd, name, !opaque)
	if err != nil {
		return err
	}
	if !kept {
		if err := unix.Mkdirat(dfd, name, 0o700); err != nil {
			return err
		}
	}
	dsub, err := unix.Openat(dfd, name, dirFlags, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dsub)
	if err := m.mergeDir(ctx, sub, dsub); err != nil {
		return err
	}
	if err := m.copyAttrs(sub, dsub, st); err != nil {
		return err
	}
	return copyTimes(dfd, name, st)
}

func (m *merger) copyFile(sfd, dfd int, name string, st *unix.Stat_t) error {
	s, err := unix.Openat(sfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	src := os.NewFile(uintptr(s), name)
	defer src.Close()
	if _, err := replace(dfd, name, false); err != nil {
		return err
	}
	d, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	dst := os.NewFile(uintptr(d), name)
	defer dst.Close()
	if _, err := io.CopyBuffer(dst, src, m.buf); err != nil { // copy_file_range when it can
		return err
	}
	if err := m.copyAttrs(s, d, st); err != nil {
		return err
	}
	return copyTimes(dfd, name, st)
}

func (m *merger) copySymlink(sfd, dfd int, name string, st *unix.Stat_t) error {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(sfd, name, buf)
	if err != nil {
		return err
	}
	if _, err := replace(dfd, name, false); err != nil {
		return err
	}
	if err := unix.Symlinkat(string(buf[:n]), dfd, name); err != nil {
		return err
	}
	if err := m.chownAt(dfd, name, st); err != nil {
		return err
	}
	return copyTimes(dfd, name, st)
}

// copySpecial handles whiteouts (remove the name), device nodes (only when
// privileged) and fifos.
func (m *merger) copySpecial(dfd int, name string, st *unix.Stat_t) error {
	typ := st.Mode & unix.S_IFMT
	if typ == unix.S_IFCHR && st.Rdev == 0 {
		return removeAt(dfd, name) // whiteout
	}
	if typ != unix.S_IFIFO && !m.privileged {
		return nil
	}
	if _, err := replace(dfd, name, false); err != nil {
		return err
	}
	if err := unix.Mknodat(dfd, name, typ|0o600, int(st.Rdev)); err != nil {
		return err
	}
	if err := m.chownAt(dfd, name, st); err != nil {
		return err
	}
	if err := chmodNoFollow(dfd, name, m.owner(st).perm); err != nil {
		return err
	}
	return copyTimes(dfd, name, st)
}

// copyAttrs copies owner, mode and the allowed xattrs between open fds.
func (m *merger) copyAttrs(sfd, dfd int, st *unix.Stat_t) error {
	o := m.owner(st)
	if m.ids != nil {
		if err := unix.Fchown(dfd, o.uid, o.gid); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(dfd, o.perm); err != nil {
		return err
	}
	list := make([]byte, 64<<10)
	n, err := unix.Flistxattr(sfd, list)
	if err != nil || n == 0 {
		return nil // no xattrs, or none supported here
	}
	val := make([]byte, 64<<10)
	for _, name := range strings.Split(strings.TrimRight(string(list[:n]), "\x00"), "\x00") {
		if !allowedXattr(name) {
			continue
		}
		vn, err := unix.Fgetxattr(sfd, name, val)
		if err != nil {
			continue
		}
		if err := unix.Fsetxattr(dfd, name, val[:vn], 0); err != nil && !errors.Is(err, unix.EPERM) &&
			!errors.Is(err, unix.ENOTSUP) {
			return fmt.Errorf("copy xattr %s: %w", name, err)
		}
	}
	return nil
}

func copyTimes(dfd int, name string, st *unix.Stat_t) error {
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(dfd, name, ts, unix.AT_SYMLINK_NOFOLLOW)
}
