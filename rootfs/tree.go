package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// maxCachedDirs bounds the open directory handles kept by a tree.
const maxCachedDirs = 512

// tree resolves paths inside one layer root. Parent directories are resolved
// with pathrs-lite (openat2 RESOLVE_IN_ROOT where the kernel has it, a safe
// userspace walk where it does not), so a symlink in the layer can never lead
// outside the root; the last component is always handled by an *at syscall
// relative to that handle, without following it.
type tree struct {
	root  *os.File
	dirs  map[string]*os.File // cleaned relative dir path -> O_PATH handle
	stale []*os.File          // forgotten handles, still open until release
}

func openTree(dst string) (*tree, error) {
	root, err := os.OpenFile(dst, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open unpack destination: %w", err)
	}
	return &tree{root: root, dirs: map[string]*os.File{}}, nil
}

func (t *tree) close() {
	t.forget()
	t.release()
	t.root.Close()
}

// forget drops every cached handle. Called whenever a directory or symlink
// is removed or replaced, since a cached path may have resolved through it.
// The handles stay open until release: the entry being unpacked may still
// hold one as its parent, and closing it would free its fd number for reuse
// (by another layer's unpack in the same process) under its feet.
func (t *tree) forget() {
	for k, f := range t.dirs {
		t.stale = append(t.stale, f)
		delete(t.dirs, k)
	}
}

// release closes the handles forgotten so far; called between entries.
func (t *tree) release() {
	for _, f := range t.stale {
		f.Close()
	}
	t.stale = t.stale[:0]
}

// dir returns a handle on directory rel (a cleaned relative path), creating
// missing directories (mode 0755) inside the root if create is set.
func (t *tree) dir(rel string, create bool) (int, error) {
	if rel == "." {
		return int(t.root.Fd()), nil
	}
	if f, ok := t.dirs[rel]; ok {
		return int(f.Fd()), nil
	}
	var f *os.File
	var err error
	if create {
		f, err = pathrs.MkdirAllHandle(t.root, rel, 0o755)
	} else {
		f, err = pathrs.OpenatInRoot(t.root, rel)
	}
	if err != nil {
		return -1, fmt.Errorf("%w: %q: %w", ErrBadParent, rel, err)
	}
	if len(t.dirs) >= maxCachedDirs {
		t.forget()
	}
	t.dirs[rel] = f
	return int(f.Fd()), nil
}

// adopt caches a handle on base, a directory just made (or found) in pfd by
// mkdir, under rel, its path from the root. pfd is itself a handle resolved
// inside the root, base is one component, and the open never follows a
// symlink (O_NOFOLLOW with O_DIRECTORY fails with ENOTDIR on one, O_PATH
// included), so the handle is what pathrs would resolve, for one syscall
// instead of a walk. Failing to adopt is not an error: dir resolves rel the
// long way when it is next needed.
func (t *tree) adopt(rel string, pfd int, base string) {
	if _, ok := t.dirs[rel]; ok || len(t.dirs) >= maxCachedDirs {
		return
	}
	fd, err := unix.Openat(pfd, base, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	t.dirs[rel] = os.NewFile(uintptr(fd), rel)
}

// cleanName turns a tar name into a path relative to the root. Absolute
// names are taken relative to the root (as GNU tar does); a name that climbs
// above the root with ".." is refused.
func cleanName(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("%w: name contains a NUL byte", ErrUnsafePath)
	}
	p := path.Clean(name)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", fmt.Errorf("%w: %q leaves the layer root", ErrUnsafePath, name)
	}
	p = strings.TrimLeft(p, "/")
	if p == "" {
		p = "."
	}
	return p, nil
}

// removeAt removes name in dirfd, whatever it is, without following
// symlinks. A missing name is not an error.
func removeAt(dirfd int, name string) error {
	_, err := removeAllAt(dirfd, name, nil)
	return err
}

// removeAllAt removes name (recursively) relative to dirfd without ever
// following a symlink, making read-only directories writable first (needed
// when not root). It returns the bytes of disk space the removed inodes used;
// seen, if not nil, dedups hardlinked inodes.
func removeAllAt(dirfd int, name string, seen map[uint64]bool) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return 0, nil
		}
		return 0, fmt.Errorf("stat %q for removal: %w", name, err)
	}
	size := st.Blocks * 512
	if st.Nlink > 1 && seen != nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if seen[st.Ino] {
			size = 0
		}
		seen[st.Ino] = true
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Unlinkat(dirfd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return 0, fmt.Errorf("remove %q: %w", name, err)
		}
		return size, nil
	}
	n, err := removeChildren(dirfd, name, st.Mode, seen)
	if err != nil {
		return n, err
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return n, fmt.Errorf("remove directory %q: %w", name, err)
	}
	return n + size, nil
}

// removeChildren empties directory name in dirfd.
func removeChildren(dirfd int, name string, mode uint32, seen map[uint64]bool) (int64, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open directory %q for removal: %w", name, err)
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	if mode&0o700 != 0o700 {
		if err := unix.Fchmod(fd, 0o700); err != nil {
			return 0, fmt.Errorf("make %q writable for removal: %w", name, err)
		}
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		return 0, fmt.Errorf("read directory %q for removal: %w", name, err)
	}
	var total int64
	for _, n := range names {
		sz, err := removeAllAt(fd, n, seen)
		total += sz
		if err != nil {
			return total, fmt.Errorf("in %q: %w", name, err)
		}
	}
	return total, nil
}
