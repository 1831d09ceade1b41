package rootfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Snapshot modes.
const (
	ModeOverlay = "overlay"
	ModeCopy    = "copy"
)

// Snapshot is a container's root filesystem: an overlay of the layers plus
// the container's own upper and work dirs, or a private copy.
type Snapshot struct {
	Rootfs string // dir/rootfs
	Mode   string // ModeOverlay or ModeCopy
	Upper  string // dir/upper (overlay only)
	Work   string // dir/work (overlay only)
}

// SnapshotOptions configures Prepare. The zero value tries overlay first,
// drops the fallback notice and chooses the whiteout format by Privileged.
type SnapshotOptions struct {
	// Notice receives one human-readable line when Prepare falls back to
	// a copy (the CLI prints it once); nil drops it.
	Notice func(string)
	// Copy skips overlay and always copies (for filesystems or kernels
	// where overlay is known not to work, and for tests).
	Copy bool
	// Rootless selects the unprivileged whiteout format (the layers must
	// have been unpacked with UnpackOptions.Rootless too): overlay is
	// mounted with "userxattr" and the copy reads user.overlay.* markers.
	// Without it the format is chosen by Privileged().
	Rootless bool
	// MountLabel is the SELinux context every file of the overlay gets
	// (its context= option), so the container's label may use them; ""
	// on hosts without SELinux.
	MountLabel string
}

const copyMarker = "rootfs.copied"

// Prepare makes dir/rootfs the merged view of lowerDirs, which the caller
// passes bottom layer first (as Ensure returns them); Prepare reverses them
// for overlayfs's lowerdir=top:...:bottom. It mounts overlay with dir/upper
// and dir/work; if the mount fails (no overlay, an upper dir on a filesystem
// overlay rejects, too many layers for one mount option page) it copies the
// layers into dir/rootfs instead and says so through opts.Notice. Calling it
// again on a prepared dir returns the existing snapshot.
func Prepare(ctx context.Context, dir string, lowerDirs []string, opts SnapshotOptions) (*Snapshot, error) {
	privileged := !opts.Rootless && Privileged()
	if len(lowerDirs) == 0 {
		return nil, errors.New("prepare root filesystem: image has no layers")
	}
	for _, l := range lowerDirs {
		if fi, err := os.Stat(l); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("prepare root filesystem: layer dir %s is missing: pull the image again", l)
		}
	}
	s := &Snapshot{Rootfs: filepath.Join(dir, "rootfs"), Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work")}
	if ok, err := Mounted(dir); err != nil {
		return nil, err
	} else if ok {
		s.Mode = ModeOverlay
		return s, nil
	}
	if _, err := os.Stat(filepath.Join(dir, copyMarker)); err == nil {
		s.Mode, s.Upper, s.Work = ModeCopy, "", ""
		return s, nil
	}
	if !opts.Copy {
		err := s.mountOverlay(lowerDirs, privileged, opts.MountLabel)
		if err == nil {
			return s, nil
		}
		if opts.Notice != nil {
			opts.Notice(fmt.Sprintf("overlay mount failed (%v): copying the image layers into %s instead; "+
				"this uses more disk and time", err, s.Rootfs))
		}
	}
	ids, err := ownerIDs(opts.Rootless)
	if err != nil {
		return nil, fmt.Errorf("prepare root filesystem: %w", err)
	}
	m := &merger{privileged: privileged, ids: ids, buf: make([]byte, 1<<20)}
	if err := copySnapshot(ctx, dir, s, lowerDirs, m); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Snapshot) mountOverlay(lowerDirs []string, privileged bool, mountLabel string) error {
	for _, d := range []string{s.Upper, s.Work, s.Rootfs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	lowers := make([]string, len(lowerDirs))
	for i, l := range lowerDirs {
		lowers[len(lowerDirs)-1-i] = escapeOverlay(l)
	}
	data := "lowerdir=" + strings.Join(lowers, ":") + ",upperdir=" + escapeOverlay(s.Upper) +
		",workdir=" + escapeOverlay(s.Work)
	if !privileged {
		data += ",userxattr"
	}
	if mountLabel != "" {
		data += `,context="` + mountLabel + `"`
	}
	if len(data) >= os.Getpagesize() {
		return fmt.Errorf("%d layers do not fit in one overlay mount option page", len(lowerDirs))
	}
	if err := unix.Mount("overlay", s.Rootfs, "overlay", 0, data); err != nil {
		return fmt.Errorf("mount overlay on %s: %w", s.Rootfs, err)
	}
	s.Mode = ModeOverlay
	return nil
}

// escapeOverlay escapes the separators of overlay's mount options.
func escapeOverlay(p string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`, `,`, `\,`).Replace(p)
}

func copySnapshot(ctx context.Context, dir string, s *Snapshot, lowerDirs []string, m *merger) error {
	for _, d := range []string{s.Upper, s.Work, s.Rootfs} {
		if _, err := removeAllAt(unix.AT_FDCWD, d, nil); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(s.Rootfs, 0o755); err != nil {
		return err
	}
	for _, l := range lowerDirs {
		if err := m.mergeTree(ctx, l, s.Rootfs); err != nil {
			return fmt.Errorf("copy layer %s into %s: %w", l, s.Rootfs, err)
		}
	}
	if err := syncfs(s.Rootfs); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, copyMarker), nil, 0o600); err != nil {
		return err
	}
	s.Mode, s.Upper, s.Work = ModeCopy, "", ""
	return nil
}

// Unmount unmounts an overlay snapshot. Idempotent; a copy has nothing to
// unmount.
func (s *Snapshot) Unmount() error {
	if s.Mode != ModeOverlay {
		return nil
	}
	return unmount(s.Rootfs)
}

func unmount(p string) error {
	err := unix.Unmount(p, 0)
	if errors.Is(err, unix.EBUSY) {
		err = unix.Unmount(p, unix.MNT_DETACH)
	}
	if err == nil || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
		return nil // EINVAL: not a mount point (any more)
	}
	return fmt.Errorf("unmount %s: %w", p, err)
}

// Mounted reports whether dir/rootfs is a mount point.
func Mounted(dir string) (bool, error) {
	ok, err := mountinfo.Mounted(filepath.Join(dir, "rootfs"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check mount %s: %w", dir, err)
	}
	return ok, nil
}

// Unmount unmounts dir/rootfs if mounted, keeping the upper and work dirs
// (a stopped container that may start again). Idempotent, and usable
// after a crash when the Snapshot handle is gone.
func Unmount(dir string) error {
	for range 8 {
		ok, err := Mounted(dir)
		if err != nil || !ok {
			return err
		}
		if err := unmount(filepath.Join(dir, "rootfs")); err != nil {
			return err
		}
	}
	return nil
}

// Remove unmounts dir/rootfs if mounted and removes rootfs, upper and work
// (never following symlinks). Idempotent, and safe after a crash.
func Remove(dir string) error {
	for range 8 { // stacked mounts, if a crash left more than one
		ok, err := Mounted(dir)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := unmount(filepath.Join(dir, "rootfs")); err != nil {
			return err
		}
	}
	for _, n := range []string{copyMarker, "rootfs", "upper", "work"} {
		if _, err := removeAllAt(unix.AT_FDCWD, filepath.Join(dir, n), nil); err != nil {
			return fmt.Errorf("remove container root filesystem: %w", err)
		}
	}
	return nil
}
