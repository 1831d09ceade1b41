package rootfs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/edgerun/edgerun/internal/testenv"
)

// twoLayers unpacks a lower layer and an upper layer that deletes a file,
// replaces a directory opaquely and adds a file.
func twoLayers(t *testing.T) []string {
	t.Helper()
	c, err := OpenCache(filepath.Join(t.TempDir(), "layers"), CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	lower := testLayer(t, &opens, dir("etc"), file("etc/passwd", "root"), file("etc/gone", "x"),
		dir("opq"), file("opq/old", "old"), file("keep", "k"))
	upper := testLayer(t, &opens, dir("etc"), file("etc/.wh.gone", ""), dir("opq"),
		file("opq/.wh..wh..opq", ""), file("opq/new", "new"), file("added", "a"))
	dirs, err := c.Ensure(context.Background(), []Layer{lower, upper})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// removeAtCleanup removes the container dir cdir at the end of the test:
// a failure would leave its overlay mounted on the host.
func removeAtCleanup(t *testing.T, cdir string) {
	t.Helper()
	t.Cleanup(func() {
		if err := Remove(cdir); err != nil {
			t.Errorf("remove %s: %v", cdir, err)
		}
	})
}

func checkMerged(t *testing.T, rootfs string) {
	t.Helper()
	for rel, want := range map[string]string{"etc/passwd": "root", "opq/new": "new", "added": "a", "keep": "k"} {
		if got := readFile(t, filepath.Join(rootfs, rel)); got != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
	for _, rel := range []string{"etc/gone", "opq/old"} {
		if _, err := os.Lstat(filepath.Join(rootfs, rel)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s visible through the snapshot (err %v), want hidden", rel, err)
		}
	}
}

func TestWhiteoutConversion(t *testing.T) {
	testenv.RequireRoot(t, "unpack whiteouts as overlayfs does (0:0 character devices, overlay xattrs)")
	dirs := twoLayers(t)
	if !isWhiteout(t, filepath.Join(dirs[1], "etc/gone")) {
		t.Error(".wh.gone did not become a 0:0 character device")
	}
	if _, err := os.Lstat(filepath.Join(dirs[1], "etc/.wh.gone")); !errors.Is(err, os.ErrNotExist) {
		t.Error(".wh.gone itself was written")
	}
	name := opaqueXattr(Privileged()) // user.overlay.* as root of a user namespace
	if got := xattr(t, filepath.Join(dirs[1], "opq"), name); got != "y" {
		t.Errorf("opq %s = %q, want y", name, got)
	}
}

func TestPrepareOverlayHidesWhiteouts(t *testing.T) {
	testenv.RequireRoot(t, "unpack whiteouts and mount overlays")
	dirs := twoLayers(t)
	cdir := t.TempDir()
	removeAtCleanup(t, cdir)
	var notices []string
	s, err := Prepare(context.Background(), cdir, dirs, SnapshotOptions{Notice: func(m string) { notices = append(notices, m) }})
	if err != nil {
		t.Fatal(err)
	}
	if s.Mode != ModeOverlay {
		t.Fatalf("mode %q (notices %q), want overlay", s.Mode, notices)
	}
	if ok, err := Mounted(cdir); !ok || err != nil {
		t.Fatalf("Mounted = %v, %v", ok, err)
	}
	checkMerged(t, s.Rootfs)
	if err := os.WriteFile(filepath.Join(s.Rootfs, "written"), []byte("w"), 0o644); err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(s.Upper, "written")) != "w" {
		t.Error("write did not land in the upper dir")
	}
	for _, d := range dirs {
		if _, err := os.Lstat(filepath.Join(d, "written")); err == nil {
			t.Errorf("write reached layer %s", d)
		}
	}
	if err := s.Unmount(); err != nil {
		t.Fatal(err)
	}
	if err := s.Unmount(); err != nil {
		t.Fatalf("second Unmount: %v", err)
	}
	for range 2 {
		if err := Remove(cdir); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(cdir, "upper")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("upper dir left after Remove")
	}
}

func TestRemoveUnmountsAfterCrash(t *testing.T) {
	testenv.RequireRoot(t, "unpack whiteouts and mount overlays")
	dirs := twoLayers(t)
	cdir := t.TempDir()
	removeAtCleanup(t, cdir)
	if _, err := Prepare(context.Background(), cdir, dirs, SnapshotOptions{}); err != nil {
		t.Fatal(err)
	}
	// A crashed process forgot its Snapshot; Remove finds the mount itself.
	if err := Remove(cdir); err != nil {
		t.Fatal(err)
	}
	if ok, _ := Mounted(cdir); ok {
		t.Fatal("still mounted after Remove")
	}
	if _, err := os.Stat(filepath.Join(cdir, "rootfs")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("rootfs left after Remove")
	}
}

func TestPrepareCopyFallbackMatchesOverlay(t *testing.T) {
	testenv.RequireRoot(t, "unpack whiteouts and mount overlays")
	dirs := twoLayers(t)
	cdir := t.TempDir()
	removeAtCleanup(t, cdir)
	s, err := Prepare(context.Background(), cdir, dirs, SnapshotOptions{Copy: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Mode != ModeCopy {
		t.Fatalf("mode %q, want copy", s.Mode)
	}
	if ok, _ := Mounted(cdir); ok {
		t.Fatal("copy snapshot is a mount")
	}
	checkMerged(t, s.Rootfs)
	if again, err := Prepare(context.Background(), cdir, dirs, SnapshotOptions{}); err != nil || again.Mode != ModeCopy {
		t.Fatalf("second Prepare = %+v, %v; want the existing copy", again, err)
	}
	if err := Remove(cdir); err != nil {
		t.Fatal(err)
	}
}

func TestPrepareFallsBackWhenOverlayFails(t *testing.T) {
	testenv.RequireRoot(t, "unpack whiteouts and mount overlays")
	dirs := twoLayers(t)
	// An upper dir on an overlay mount is rejected by overlayfs: put the
	// container dir inside another container's overlay rootfs.
	outer := t.TempDir()
	removeAtCleanup(t, outer)
	os1, err := Prepare(context.Background(), outer, dirs, SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cdir := filepath.Join(os1.Rootfs, "nested")
	removeAtCleanup(t, cdir)
	var notices []string
	s, err := Prepare(context.Background(), cdir, dirs, SnapshotOptions{Notice: func(m string) { notices = append(notices, m) }})
	if err != nil {
		t.Fatal(err)
	}
	if s.Mode != ModeCopy || len(notices) != 1 {
		t.Fatalf("mode %q with notices %q; want copy and one notice", s.Mode, notices)
	}
	checkMerged(t, s.Rootfs)
}
