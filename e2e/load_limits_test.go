package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"golang.org/x/sys/unix"
)

func TestLoadRefusesADecompressionBombUnlessAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// 32 MiB of zeros gzip to 32 KiB: a thousand to one.
	img, err := mutate.AppendLayers(busyboxImage(t), layerOf(t, entry{name: "zeros", body: string(make([]byte, 32<<20))}))
	if err != nil {
		t.Fatal(err)
	}
	lay := writeLayout(t, img, "bomb:1")
	r := e.run("load", "-i", lay)
	// docs/cli.md's message (the numbers are the compressed size and how much was unpacked)
	if r.code == 0 || !messageLike(r.stderr, "edgerun: load "+lay+": unpack image ...: layer sha256:...: unpack \"zeros\": layer exceeds unpack limits: the layer unpacks to more than 100 times its compressed size (... bytes compressed, ... unpacked so far): a decompression bomb, or an image that needs a higher --max-layer-ratio\n") {
		t.Fatalf("load of a bomb: %s", r)
	}
	if names := e.imageNames(); len(names) != 0 {
		t.Fatalf("a refused bomb got names: %v", names)
	}
	if left := entries(filepath.Join(e.root, "layers", "staging")); len(left) > 0 {
		t.Fatalf("the refused layer left staging dirs: %v", left)
	}
	e.must("load", "--max-layer-ratio", "0", "-i", lay)
	if names := e.imageNames(); len(names) != 1 || names[0] != "index.docker.io/library/bomb:1" {
		t.Fatalf("images after an allowed load: %v", names)
	}
}

func TestLoadKeepsTheFreeSpaceReserve(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A reserve larger than any test machine's disk: nothing may be written.
	r := e.run("load", "--min-free", "1000000g", "-i", imagePath(t, "busybox"))
	if r.code == 0 || !strings.Contains(r.stderr, "not enough disk space") || !strings.Contains(r.stderr, "--min-free") {
		t.Fatalf("load with a reserve above the free space: %s", r)
	}
	if left := entries(filepath.Join(e.root, "blobs", "sha256")); len(left) > 0 {
		t.Fatalf("a load refused for space stored blobs: %v", left)
	}
	if r := e.run("load", "--min-free", "plenty", "-i", imagePath(t, "busybox")); r.code == 0 || !strings.Contains(r.stderr, "invalid --min-free") {
		t.Fatalf("load --min-free plenty: %s", r)
	}
	e.must("load", "--min-free", "0", "-i", imagePath(t, "busybox"))
}

// TestLoadKeepsTheInodeReserve: on a --root with few inodes (a tmpfs of
// 3,000), a layer of 5,000 empty files stops while the inode reserve (1%:
// 30) is left, with an error that says so, instead of using up the inodes.
func TestLoadKeepsTheInodeReserve(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if err := os.MkdirAll(e.root, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", e.root, "tmpfs", 0, "nr_inodes=3000,size=1g,mode=0700"); err != nil {
		t.Skipf("mount a tmpfs with few inodes: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(e.root, unix.MNT_DETACH) })
	files := make([]entry, 5000)
	for i := range files {
		files[i] = entry{name: fmt.Sprintf("f%04d", i)}
	}
	img, err := mutate.AppendLayers(busyboxImage(t), layerOf(t, files...))
	if err != nil {
		t.Fatal(err)
	}
	r := e.run("load", "-i", writeLayout(t, img, "many:1"))
	if r.code == 0 || !strings.Contains(r.stderr, "inodes (files) free") || !strings.Contains(r.stderr, "which must keep 30 free") {
		t.Fatalf("load of 5,000 files onto 3,000 inodes: %s", r)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(e.root, &st); err != nil {
		t.Fatal(err)
	}
	if st.Ffree < 30 {
		t.Errorf("the load left %d inodes free, fewer than the reserve", st.Ffree)
	}
	if left := entries(filepath.Join(e.root, "layers", "staging")); len(left) > 0 {
		t.Errorf("the refused layer left staging dirs: %v", left)
	}
	e.loadBusybox() // the store still works
}
