package rootfs

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// ErrNotDir is returned by Archive for "FILE/." or "FILE/".
var ErrNotDir = errors.New("not a directory")

// ArchiveOptions configures Archive.
type ArchiveOptions struct {
	// FollowLink follows a symbolic link at the path itself (cp -L),
	// still inside the root; links below it are always archived as links.
	FollowLink bool
}

// Archive writes the file or tree at p inside root to w as a tar stream,
// for `edgerun cp`. Every component of p is resolved inside root with
// pathrs-lite (a symlink or ".." can never lead out of it); the tree is
// walked with *at calls that never follow a symlink. Entries are named
// after p's last component ("bin/sh" gives "sh"), or "." and "./NAME" when
// p ends in "/." (the directory's content, docker's rule). Sockets are
// left out; hard links inside the tree stay hard links.
func Archive(ctx context.Context, w io.Writer, root, p string, opts ArchiveOptions) error {
	contents := strings.HasSuffix(p, "/.") || p == "."
	trailing := strings.HasSuffix(p, "/")
	rel := strings.TrimLeft(path.Clean("/"+p), "/")
	rf, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", root, err)
	}
	defer rf.Close()
	var h *os.File
	switch {
	case rel == "":
		h, err = pathrs.OpenatInRoot(rf, ".")
	case opts.FollowLink || contents || trailing:
		h, err = pathrs.OpenatInRoot(rf, rel)
	default: // the last component itself, not what it points to
		var parent *os.File
		if parent, err = pathrs.OpenatInRoot(rf, path.Dir(rel)); err == nil {
			defer parent.Close()
			var fd int
			fd, err = unix.Openat(int(parent.Fd()), path.Base(rel), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			h = os.NewFile(uintptr(fd), rel)
		}
	}
	if err != nil {
		return pathErr(p, err)
	}
	defer h.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(h.Fd()), &st); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if (contents || trailing) && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("%s: %w", p, ErrNotDir)
	}
	name := path.Base("/" + rel)
	if contents || name == "/" {
		name = "."
	}
	a := &archiver{ctx: ctx, tw: tar.NewWriter(w), links: map[[2]uint64]string{}, buf: make([]byte, 128<<10)}
	if err := a.node(h, name, &st); err != nil {
		return err
	}
	return a.tw.Close()
}

type archiver struct {
	ctx   context.Context
	tw    *tar.Writer
	links map[[2]uint64]string // (dev, ino) of a multiply linked file → first name
	buf   []byte
}

// node archives one entry: h is an O_PATH handle on it, never followed.
func (a *archiver) node(h *os.File, name string, st *unix.Stat_t) error {
	if err := a.ctx.Err(); err != nil {
		return err
	}
	hdr := &tar.Header{Name: name, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()).UTC(), Format: tar.FormatPAX}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		if err := a.tw.WriteHeader(hdr); err != nil {
			return err
		}
		return a.dir(h, name)
	case unix.S_IFLNK:
		target, err := readlinkFd(h)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFREG:
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := a.links[key]; ok && st.Nlink > 1 {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
			return a.tw.WriteHeader(hdr)
		}
		if st.Nlink > 1 {
			a.links[key] = name
		}
		return a.file(h, hdr, st.Size)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		hdr.Typeflag = map[uint32]byte{unix.S_IFCHR: tar.TypeChar, unix.S_IFBLK: tar.TypeBlock, unix.S_IFIFO: tar.TypeFifo}[st.Mode&unix.S_IFMT]
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	default:
		return nil // sockets
	}
	return a.tw.WriteHeader(hdr)
}

func readlinkFd(h *os.File) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(h.Fd()), "", buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// file writes a regular file's header and content, read through a new
// descriptor of the same inode (O_PATH handles cannot be read).
func (a *archiver) file(h *os.File, hdr *tar.Header, size int64) error {
	f, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open %s: %w", hdr.Name, err)
	}
	defer f.Close()
	hdr.Typeflag, hdr.Size = tar.TypeReg, size
	if err := a.tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.CopyBuffer(a.tw, io.LimitReader(f, size), a.buf)
	if err == nil && n < size {
		err = fmt.Errorf("%s shrank while it was copied", hdr.Name)
	}
	return err
}

// dir archives a directory's entries in name order, each opened relative
// to the directory without following it.
func (a *archiver) dir(h *os.File, name string) error {
	d, err := pathrs.Reopen(h, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", name, err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read directory %s: %w", name, err)
	}
	slices.Sort(names)
	for _, n := range names {
		fd, err := unix.Openat(int(d.Fd()), n, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			continue // removed meanwhile (a running container)
		}
		if err != nil {
			return fmt.Errorf("open %s/%s: %w", name, n, err)
		}
		c := os.NewFile(uintptr(fd), n)
		var st unix.Stat_t
		err = unix.Fstat(fd, &st)
		if err == nil {
			err = a.node(c, path.Join(name, n), &st)
		}
		c.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// pathErr reports a failed resolution by the path the user gave and the
// system's reason, not by the host path of the root it was resolved in.
func pathErr(p string, err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return &os.PathError{Op: "cp", Path: p, Err: errno}
	}
	return fmt.Errorf("%s: %w", p, err)
}
