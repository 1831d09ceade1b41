package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
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
	if r.code == 0 || !strings.Contains(r.stderr, "times its compressed size") || !strings.Contains(r.stderr, "--max-layer-ratio") {
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
