package rootfs

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/diskspace"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
	maxMajor       = 1<<12 - 1 // Linux dev_t: 12-bit major
	maxMinor       = 1<<20 - 1 //             20-bit minor
)

// unpacker holds the state of one Unpack call.
type unpacker struct {
	t    *tree
	cfg  *unpackConfig
	st   *Stats
	buf  []byte
	news newNodes // what a node we create starts as, to skip no-op chown/chmod
	size int64    // sum of file sizes, which sparse entries can inflate beyond the stream
	// linkBytes sums the symlinks' target lengths (Stats.FileBytes).
	linkBytes int64
	dirs      []dirAttr // applied after all entries, deepest first
	// space counts the entries against the inode reserve (nil: none)
	space *diskspace.Guard
	// w writes the files' contents while the stream goes on (nil: the
	// reader writes them itself); set for the length of run.
	w *writers
}

func newUnpacker(t *tree, cfg *unpackConfig, st *Stats, space *diskspace.Guard) *unpacker {
	return &unpacker{t: t, cfg: cfg, st: st, buf: make([]byte, 256<<10), news: probeNewNodes(t.root, cfg.ids != nil), space: space}
}

type dirAttr struct {
	name string
	hdr  *tar.Header
}

func (u *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "." {
		if hdr.Typeflag != tar.TypeDir {
			return ErrRootType
		}
		u.dirs = append(u.dirs, dirAttr{name, hdr})
		return nil
	}
	parent, base := path.Dir(name), path.Base(name)
	if strings.HasPrefix(base, whiteoutPrefix) && !u.cfg.plainNames {
		return u.whiteout(parent, base)
	}
	pfd, err := u.t.dir(parent, true)
	if err != nil {
		return err
	}
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeGNUSparse, tar.TypeCont:
		u.st.Files++
		if u.size += hdr.Size; hdr.Size < 0 || u.size > u.cfg.maxBytes {
			return fmt.Errorf("%w: files add up to more than %d bytes", ErrTooLarge, u.cfg.maxBytes)
		}
		return u.file(pfd, base, hdr, r)
	case tar.TypeDir:
		u.st.Dirs++
		u.dirs = append(u.dirs, dirAttr{name, hdr})
		if err := u.mkdir(pfd, base); err != nil {
			return err
		}
		u.t.adopt(name, pfd, base)
		return nil
	case tar.TypeSymlink:
		u.st.Symlinks++
		u.linkBytes += int64(len(hdr.Linkname))
		return u.symlink(pfd, base, hdr)
	case tar.TypeLink:
		u.st.Links++
		return u.hardlink(pfd, base, name, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return u.special(pfd, base, hdr)
	default:
		return fmt.Errorf("%w %q", ErrUnsupportedEntry, string(hdr.Typeflag))
	}
}

// create runs mk; if the name exists, it removes what is there (tar
// semantics: a later entry replaces an earlier one) and runs mk again.
func (u *unpacker) create(pfd int, base string, mk func() error) error {
	err := mk()
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	if err := u.clear(pfd, base); err != nil {
		return err
	}
	return mk()
}

// clear removes base in pfd without following it.
func (u *unpacker) clear(pfd int, base string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("stat existing %q: %w", base, err)
	}
	if t := st.Mode & unix.S_IFMT; t == unix.S_IFDIR || t == unix.S_IFLNK {
		u.t.forget() // cached handles may have resolved through it
	}
	return removeAt(pfd, base)
}

func (u *unpacker) file(pfd int, base string, hdr *tar.Header, r io.Reader) error {
	var fd int
	o := u.ownerOf(hdr)
	perm, have := u.createPerm(o.perm)
	err := u.create(pfd, base, func() (err error) {
		fd, err = unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		return err
	})
	if err != nil {
		return fmt.Errorf("create file: %w", err)
	}
	if u.w != nil {
		return u.w.send(&pendingFile{fd: fd, name: hdr.Name, hdr: hdr, o: o, have: have}, r)
	}
	err = u.copyContent(fd, r)
	if err == nil {
		var skipped int
		skipped, err = u.fdAttrs(fd, hdr, o, have)
		u.st.SkippedXattrs += skipped
	}
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	if err != nil {
		return err
	}
	return setTimes(pfd, base, hdr)
}

func (u *unpacker) copyContent(fd int, r io.Reader) error {
	for {
		n, rerr := r.Read(u.buf)
		if n > 0 {
			if err := writeAll(fd, u.buf[:n]); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return streamErr(rerr)
		}
	}
}

func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

func (u *unpacker) mkdir(pfd int, base string) error {
	err := unix.Mkdirat(pfd, base, 0o755)
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("stat existing %q: %w", base, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return nil // duplicate directory entries merge; the last one's attributes win
	}
	if err := u.clear(pfd, base); err != nil {
		return err
	}
	return unix.Mkdirat(pfd, base, 0o755)
}

func (u *unpacker) symlink(pfd int, base string, hdr *tar.Header) error {
	if hdr.Linkname == "" || strings.IndexByte(hdr.Linkname, 0) >= 0 {
		return fmt.Errorf("%w: empty or NUL-containing symlink target", ErrUnsafePath)
	}
	err := u.create(pfd, base, func() error { return unix.Symlinkat(hdr.Linkname, pfd, base) })
	if err != nil {
		return fmt.Errorf("create symlink: %w", err)
	}
	if err := u.chownAt(pfd, base, u.ownerOf(hdr)); err != nil {
		return err
	}
	return setTimes(pfd, base, hdr)
}

// hardlink links base to an earlier entry of this layer. The target's parent
// is resolved inside the root and its last component is not followed, so a
// hardlink can only ever name an inode of this layer.
func (u *unpacker) hardlink(pfd int, base, name string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return err
	}
	if target == "." || target == name {
		return fmt.Errorf("%w: %q", ErrBadHardlink, hdr.Linkname)
	}
	tfd, err := u.t.dir(path.Dir(target), false)
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrBadHardlink, hdr.Linkname, err)
	}
	tbase := path.Base(target)
	var st unix.Stat_t
	if err := unix.Fstatat(tfd, tbase, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrBadHardlink, hdr.Linkname, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("%w: %q is a directory", ErrBadHardlink, hdr.Linkname)
	}
	err = u.create(pfd, base, func() error { return unix.Linkat(tfd, tbase, pfd, base, 0) })
	if err != nil {
		return fmt.Errorf("create hardlink: %w", err)
	}
	return nil
}

// special creates device nodes and fifos. Device numbers are checked even
// when devices are skipped, so a layer is accepted or refused the same way
// whatever the privileges.
func (u *unpacker) special(pfd int, base string, hdr *tar.Header) error {
	mode := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode = unix.S_IFCHR
	case tar.TypeBlock:
		mode = unix.S_IFBLK
	}
	if mode != unix.S_IFIFO {
		if hdr.Devmajor < 0 || hdr.Devmajor > maxMajor || hdr.Devminor < 0 || hdr.Devminor > maxMinor {
			return fmt.Errorf("%w: %d:%d (Linux allows major <= %d, minor <= %d)",
				ErrBadDevice, hdr.Devmajor, hdr.Devminor, maxMajor, maxMinor)
		}
		if !u.cfg.privileged {
			u.st.SkippedDevices++
			return nil
		}
	}
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
	err := u.create(pfd, base, func() error { return unix.Mknodat(pfd, base, mode|0o600, dev) })
	if err != nil {
		return fmt.Errorf("create device node: %w", err)
	}
	u.st.Devices++
	o := u.ownerOf(hdr)
	if err := u.chownAt(pfd, base, o); err != nil {
		return err
	}
	if err := chmodNoFollow(pfd, base, o.perm); err != nil {
		return err
	}
	return setTimes(pfd, base, hdr)
}
