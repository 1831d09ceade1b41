package rootfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const paxXattr = "SCHILY.xattr."

// hdrPerm returns the permission bits of hdr, setuid, setgid and sticky
// included.
func hdrPerm(hdr *tar.Header) uint32 {
	return uint32(hdr.Mode) & 0o7777
}

// allowedXattr is the xattr policy: user.* (except user.overlay.*, which
// overlayfs would interpret in userxattr mode) and security.capability.
// trusted.*, security.selinux and everything else are dropped.
func allowedXattr(name string) bool {
	if name == "security.capability" {
		return true
	}
	return strings.HasPrefix(name, "user.") && !strings.HasPrefix(name, "user.overlay.")
}

// unknownPerm says fdAttrs does not know the current mode of a node.
const unknownPerm = ^uint32(0)

// fdAttrs applies the owner o, its mode and hdr's xattrs to an open file
// or directory whose current permission bits are have (or unknownPerm),
// and returns how many xattrs the policy or the file system left out.
// Ownership goes first: chown clears setuid/setgid bits, fchmod restores
// them. It only reads the unpacker, so the file writers call it too.
func (u *unpacker) fdAttrs(fd int, hdr *tar.Header, o owner, have uint32) (skipped int, err error) {
	if u.needChown(o) {
		if err := unix.Fchown(fd, o.uid, o.gid); err != nil {
			return 0, fmt.Errorf("chown to %d:%d: %w", o.uid, o.gid, err)
		}
	}
	if have != o.perm {
		if err := unix.Fchmod(fd, o.perm); err != nil {
			return 0, fmt.Errorf("chmod %o: %w", o.perm, err)
		}
	}
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, paxXattr)
		if !ok {
			continue
		}
		if !allowedXattr(name) {
			skipped++
			continue
		}
		err := unix.Fsetxattr(fd, name, []byte(v), 0)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EINVAL) {
			skipped++ // not allowed here (unprivileged, or the filesystem has no xattrs)
			continue
		}
		if err != nil {
			return skipped, fmt.Errorf("set xattr %s: %w", name, err)
		}
	}
	return skipped, nil
}

// chownAt changes the owner of base itself (never a symlink's target).
func (u *unpacker) chownAt(pfd int, base string, o owner) error {
	if !u.needChown(o) {
		return nil
	}
	if err := unix.Fchownat(pfd, base, o.uid, o.gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown to %d:%d: %w", o.uid, o.gid, err)
	}
	return nil
}

// ownerOf is the owner and mode an entry gets under this unpack's
// ownership policy; an entry whose IDs are not mapped is counted.
func (u *unpacker) ownerOf(hdr *tar.Header) owner {
	o := ownerOf(u.cfg.ids, hdr.Uid, hdr.Gid, hdrPerm(hdr), hdr.Typeflag == tar.TypeDir)
	if o.flat {
		u.st.Unmapped++
	}
	if o.setID {
		u.st.UnmappedSetID++
	}
	return o
}

// chmodNoFollow changes the mode of a node that cannot be opened for I/O
// (device, fifo) through an O_PATH handle and /proc/self/fd. Linux's
// fchmodat has no working AT_SYMLINK_NOFOLLOW; this is how to get it.
func chmodNoFollow(pfd int, base string, mode uint32) error {
	fd, err := unix.Openat(pfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %q to chmod: %w", base, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %q to chmod: %w", base, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return nil // a symlink's mode means nothing; never chmod its target
	}
	if err := unix.Fchmodat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), mode, 0); err != nil {
		return fmt.Errorf("chmod %q: %w", base, err)
	}
	return nil
}

// setTimes sets atime and mtime of base itself, not following symlinks.
func setTimes(pfd int, base string, hdr *tar.Header) error {
	ts := hdrTimes(hdr)
	if err := unix.UtimesNanoAt(pfd, base, ts[:], unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times on %q: %w", base, err)
	}
	return nil
}

// hdrTimes is an entry's access and modification times; an entry without
// an access time gets its modification time for both.
func hdrTimes(hdr *tar.Header) [2]unix.Timespec {
	at := hdr.AccessTime
	if at.IsZero() {
		at = hdr.ModTime
	}
	return [2]unix.Timespec{timespec(at), timespec(hdr.ModTime)}
}

func timespec(t time.Time) unix.Timespec {
	if t.IsZero() {
		return unix.Timespec{Sec: 0}
	}
	return unix.NsecToTimespec(t.UnixNano())
}

// whiteout turns an OCI whiteout entry into overlayfs's format: ".wh.NAME"
// becomes a 0:0 character device NAME, ".wh..wh..opq" marks its directory
// opaque. Other ".wh..wh." names are aufs metadata and are skipped.
func (u *unpacker) whiteout(parent, base string) error {
	if base == whiteoutOpaque {
		return u.opaque(parent)
	}
	if strings.HasPrefix(base, whiteoutMeta) {
		u.st.SkippedOther++
		return nil
	}
	victim := strings.TrimPrefix(base, whiteoutPrefix)
	if victim == "" || victim == "." || victim == ".." {
		return fmt.Errorf("%w: whiteout %q names no file", ErrUnsafePath, base)
	}
	pfd, err := u.t.dir(parent, true)
	if err != nil {
		return err
	}
	err = u.create(pfd, victim, func() error { return unix.Mknodat(pfd, victim, unix.S_IFCHR, 0) })
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("create whiteout %q: %w: unprivileged whiteouts need Linux 5.8 or later", victim, err)
	}
	if err != nil {
		return fmt.Errorf("create whiteout %q: %w", victim, err)
	}
	u.st.Whiteouts++
	return nil
}

// opaqueXattr is the overlayfs opaque marker for this privilege mode: the
// trusted.* namespace as real root, user.* (mounted with userxattr) otherwise.
func opaqueXattr(privileged bool) string {
	if privileged {
		return "trusted.overlay.opaque"
	}
	return "user.overlay.opaque"
}

func (u *unpacker) opaque(dir string) error {
	dfd, err := u.t.dir(dir, true)
	if err != nil {
		return err
	}
	fd, err := unix.Openat(dfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %q to mark it opaque: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Fsetxattr(fd, opaqueXattr(u.cfg.privileged), []byte("y"), 0); err != nil {
		if !u.cfg.privileged && (errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOTSUP)) {
			return fmt.Errorf("mark %q opaque: %w: unprivileged (rootless) layers keep overlay's markers in user.* xattrs, "+
				"which this file system does not store (tmpfs before Linux 6.6): put --root on ext4, xfs or btrfs", dir, err)
		}
		return fmt.Errorf("mark %q opaque: %w", dir, err)
	}
	u.st.Whiteouts++
	return nil
}

// finishDirs applies directory attributes after all entries, deepest first,
// so that creating children neither changes a directory's mtime afterwards
// nor is blocked by a read-only mode.
func (u *unpacker) finishDirs() error {
	depth := func(s string) int {
		if s == "." {
			return -1
		}
		return strings.Count(s, "/")
	}
	sort.SliceStable(u.dirs, func(i, j int) bool { return depth(u.dirs[i].name) > depth(u.dirs[j].name) })
	for _, d := range u.dirs {
		err := u.dirAttrs(d)
		u.t.release()
		if err != nil {
			return fmt.Errorf("unpack %q: %w", d.hdr.Name, err)
		}
	}
	return nil
}

func (u *unpacker) dirAttrs(d dirAttr) error {
	pfd, base := int(u.t.root.Fd()), "."
	if d.name != "." {
		var err error
		if pfd, err = u.t.dir(path.Dir(d.name), false); err != nil {
			return nil // replaced by a later entry; nothing to apply
		}
		base = path.Base(d.name)
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return nil // replaced by a later non-directory entry
	}
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	skipped, err := u.fdAttrs(fd, d.hdr, u.ownerOf(d.hdr), unknownPerm)
	u.st.SkippedXattrs += skipped
	unix.Close(fd)
	if err != nil {
		return err
	}
	return setTimes(pfd, base, d.hdr)
}
