package specgen

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// errUnseen says a path lies on a file system edgerun cannot look into
// before the container starts (a tmpfs, /proc, /dev): the container's
// execve decides, and its failure maps to the same exit codes.
var errUnseen = errors.New("not visible before the container starts")

// containerView resolves paths the way the container will see them: in
// the root file system, or in the source of a bind mount for paths at or
// below its destination, following symbolic links across both.
type containerView struct {
	rootfs string
	mounts []viewMount // deepest destination first
}

type viewMount struct {
	dest   string // destination as resolved in the rootfs, container-absolute
	source string // host directory or file of a bind mount; "" for others
}

// newContainerView takes the spec's mounts. Destinations are resolved in
// the rootfs as the runtime does (a destination under a symlink lands
// where the link points, inside the rootfs).
func newContainerView(rootfs string, mounts []specs.Mount) *containerView {
	v := &containerView{rootfs: rootfs}
	for _, m := range mounts {
		dest := path.Clean("/" + m.Destination)
		if full, err := securejoin.SecureJoin(rootfs, dest); err == nil {
			if rel, err := filepath.Rel(rootfs, full); err == nil {
				dest = path.Clean("/" + filepath.ToSlash(rel))
			}
		}
		vm := viewMount{dest: dest}
		if m.Type == "bind" {
			src, err := filepath.EvalSymlinks(m.Source)
			if err != nil {
				src = m.Source
			}
			vm.source = src
		}
		v.mounts = append(v.mounts, vm)
	}
	// Later mounts on the same destination hide earlier ones: search the
	// list backwards, deepest destination first.
	for i, j := 0, len(v.mounts)-1; i < j; i, j = i+1, j-1 {
		v.mounts[i], v.mounts[j] = v.mounts[j], v.mounts[i]
	}
	return v
}

// mountFor returns the mount holding container path p (clean, absolute),
// or nil for the rootfs.
func (v *containerView) mountFor(p string) *viewMount {
	var best *viewMount
	for i := range v.mounts {
		m := &v.mounts[i]
		if (p == m.dest || m.dest == "/" || strings.HasPrefix(p, m.dest+"/")) && (best == nil || len(m.dest) > len(best.dest)) {
			best = m
		}
	}
	return best
}

// holdsMount says whether a mount destination lies below p.
func (v *containerView) holdsMount(p string) bool {
	for _, m := range v.mounts {
		if strings.HasPrefix(m.dest, p+"/") {
			return true
		}
	}
	return false
}

// locate resolves container path p to a host root and a path below it
// without symbolic links, for pathrs.OpenInRoot. It returns
// fs.ErrNotExist when a component is missing and errUnseen when p lies
// on a file system that is not a bind mount.
func (v *containerView) locate(p string) (root, rel string, err error) {
	p = path.Clean("/" + p)
	for links := 0; ; links++ {
		if links > 40 {
			return "", "", &fs.PathError{Op: "resolve", Path: p, Err: errors.New("too many levels of symbolic links")}
		}
		next, done, err := v.step(p)
		if err != nil {
			return "", "", err
		}
		if done {
			root, rel = v.hostOf(p)
			return root, rel, nil
		}
		p = next
	}
}

// step walks p component by component and, at the first symbolic link,
// returns p with the link replaced by its target; done when p has none.
func (v *containerView) step(p string) (string, bool, error) {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for i, c := range parts {
		if c == "" {
			continue
		}
		next := path.Join(cur, c)
		m := v.mountFor(next)
		if m != nil && m.source == "" {
			return "", false, errUnseen
		}
		if m != nil && next == m.dest {
			cur = next // a bind mount's root: the host resolved it
			continue
		}
		root, rel := v.hostOf(next)
		fi, err := os.Lstat(filepath.Join(root, rel))
		if errors.Is(err, fs.ErrNotExist) && v.holdsMount(next) {
			cur = next // the runtime creates a mount point's parents
			continue
		}
		if err != nil {
			return "", false, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(filepath.Join(root, rel))
			if err != nil {
				return "", false, err
			}
			rest := strings.Join(parts[i+1:], "/")
			if !path.IsAbs(target) {
				target = path.Join(cur, target)
			}
			return path.Clean(path.Join(target, rest)), false, nil
		}
		cur = next
	}
	return "", true, nil
}

// hostOf maps a symlink-free container path to its host root and the
// path below it.
func (v *containerView) hostOf(p string) (string, string) {
	if m := v.mountFor(p); m != nil && m.source != "" {
		if p == m.dest { // the source itself, maybe a file
			return filepath.Dir(m.source), filepath.Base(m.source)
		}
		return m.source, strings.TrimPrefix(strings.TrimPrefix(p, m.dest), "/")
	}
	return v.rootfs, strings.TrimPrefix(p, "/")
}

// resolve replaces the symbolic links of container path p the way the
// container will follow them, as far as edgerun can see: up to a file
// system that is not a bind mount (errUnseen) or a missing component,
// where the rest stays as written.
func (v *containerView) resolve(p string) string {
	p = path.Clean("/" + p)
	for links := 0; links <= 40; links++ {
		next, done, err := v.step(p)
		if err != nil || done {
			return p
		}
		p = next
	}
	return p
}

// CheckWorkdir refuses a working directory whose symbolic links (the
// image's, or a volume's) lead into /proc: /wd -> /proc/self/fd/7 is
// CVE-2024-21626's leaked descriptor as much as -w /proc/self/fd/7, which
// checkWorkdir refuses by name. A directory edgerun cannot resolve is left
// to the runtime.
func CheckWorkdir(rootfs string, mounts []specs.Mount, cwd string) error {
	if cwd == "" {
		return nil
	}
	real := newContainerView(rootfs, mounts).resolve(cwd)
	if real == "/proc" || strings.HasPrefix(real, "/proc/") {
		return fmt.Errorf("%w: the working directory %s leads to %s, in /proc: choose a directory of the container's file system", ErrInvalidOption, cwd, real)
	}
	return nil
}
