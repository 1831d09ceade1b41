package rootfs

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/edgerun/edgerun/internal/testenv"
)

// imageTree makes a small root file system: /data with a file, a
// subdirectory and a symlink out, /etc/marker, and /evil -> / (which must
// resolve to the root file system's own /, not the host's).
func imageTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"data/sub", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range map[string]string{"data/file": "hello", "data/sub/deep": "deep", "etc/marker": "image"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(body), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"data/passwd": "/etc/passwd", "evil": "/", "file-dest": "data/file"} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "data"), 0o750); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestCopyUpCopiesTheImageDirectory(t *testing.T) {
	root, vol := imageTree(t), t.TempDir()
	copied, err := CopyUp(context.Background(), root, "/data", vol)
	if err != nil || !copied {
		t.Fatalf("CopyUp = %v, %v", copied, err)
	}
	for name, want := range map[string]string{"file": "hello", "sub/deep": "deep"} {
		if b, err := os.ReadFile(filepath.Join(vol, name)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if st, err := os.Stat(filepath.Join(vol, "file")); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("file mode: %v, %v; want 0640", st, err)
	}
	if target, err := os.Readlink(filepath.Join(vol, "passwd")); err != nil || target != "/etc/passwd" {
		t.Errorf("symlink = %q, %v; want it copied as given", target, err)
	}
	st, err := os.Stat(vol)
	if err != nil || st.Mode().Perm() != 0o750 {
		t.Fatalf("volume root mode: %v, %v; want the image directory's 0750", st, err)
	}
}

func TestCopyUpKeepsOwners(t *testing.T) {
	testenv.RequireRoot(t, "chown the image's files to other users")
	if idMode(t) == "single" {
		// Not a skip: the user-namespace suite counts skips as failures.
		t.Log("only ID 0 exists under the single-ID mapping: there are no other owners to keep")
		return
	}
	root, vol := imageTree(t), t.TempDir()
	for _, p := range []string{"data", "data/file"} {
		if err := os.Lchown(filepath.Join(root, p), 33, 34); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Lchown(filepath.Join(root, "data/passwd"), 35, 36); err != nil {
		t.Fatal(err)
	}
	if _, err := CopyUp(context.Background(), root, "/data", vol); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string][2]uint32{"": {33, 34}, "file": {33, 34}, "passwd": {35, 36}, "sub": {0, 0}} {
		st, err := os.Lstat(filepath.Join(vol, p))
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if w := want; Privileged() && (sys.Uid != w[0] || sys.Gid != w[1]) {
			t.Errorf("%q: owner %d:%d, want the image's %d:%d", p, sys.Uid, sys.Gid, w[0], w[1])
		}
	}
}

func TestCopyUpResolvesInsideTheRoot(t *testing.T) {
	root, vol := imageTree(t), t.TempDir()
	// /evil/etc is the image's /etc, never the host's.
	copied, err := CopyUp(context.Background(), root, "/evil/etc", vol)
	if err != nil || !copied {
		t.Fatalf("CopyUp = %v, %v", copied, err)
	}
	if b, err := os.ReadFile(filepath.Join(vol, "marker")); err != nil || string(b) != "image" {
		t.Fatalf("marker = %q, %v: the copy did not come from the image's /etc", b, err)
	}
	if _, err := os.Lstat(filepath.Join(vol, "passwd")); err == nil {
		t.Fatal("the host's /etc was copied")
	}
	for _, dest := range []string{"/missing", "/file-dest", "/data/file", "/../../../../etc/missing"} {
		vol := t.TempDir()
		copied, err := CopyUp(context.Background(), root, dest, vol)
		ents, _ := os.ReadDir(vol)
		if err != nil || copied || len(ents) != 0 {
			t.Errorf("CopyUp(%s) = %v, %v, %d entries: want nothing copied", dest, copied, err, len(ents))
		}
	}
}
