package rootfs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

// testLayer makes a gzip layer from ents and counts how often it is opened.
func testLayer(t testing.TB, opens *atomic.Int32, e ...ent) Layer {
	raw := buildTar(t, e...)
	blob := gzipBytes(t, raw)
	return Layer{
		DiffID:    digest.FromBytes(raw),
		MediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
		Open: func() (io.ReadCloser, error) {
			opens.Add(1)
			return io.NopCloser(bytes.NewReader(blob)), nil
		},
	}
}

func TestEnsureConcurrentUnpacksOnce(t *testing.T) {
	c, err := OpenCache(filepath.Join(t.TempDir(), "layers"), CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	l := testLayer(t, &opens, dir("etc"), file("etc/hostname", "edge"))
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dirs, err := c.Ensure(context.Background(), []Layer{l, l})
			if err == nil && (len(dirs) != 2 || readFile(t, filepath.Join(dirs[0], "etc/hostname")) != "edge") {
				err = errors.New("wrong layer dirs")
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := opens.Load(); n != 1 {
		t.Fatalf("layer blob opened %d times, want 1", n)
	}
	if !c.Has(l.DiffID) {
		t.Fatal("Has = false after Ensure")
	}
}

func TestEnsureDiffIDMismatchPublishesNothing(t *testing.T) {
	root := filepath.Join(t.TempDir(), "layers")
	c, err := OpenCache(root, CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	l := testLayer(t, &opens, file("a", "content"))
	l.DiffID = digest.FromString("another layer")
	if _, err := c.Ensure(context.Background(), []Layer{l}); !errors.Is(err, ErrDiffIDMismatch) {
		t.Fatalf("Ensure = %v, want ErrDiffIDMismatch", err)
	}
	if c.Has(l.DiffID) {
		t.Fatal("mismatching layer was published")
	}
	for _, d := range []string{filepath.Join(root, "staging"), filepath.Join(root, "sha256")} {
		if ents, _ := os.ReadDir(d); len(ents) != 0 {
			t.Fatalf("%s not empty after failed Ensure: %v", d, ents)
		}
	}
}

func TestOpenCacheRemovesUnlockedStaging(t *testing.T) {
	root := filepath.Join(t.TempDir(), "layers")
	c, err := OpenCache(root, CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	debris := filepath.Join(root, "staging", "sha256-"+digest.FromString("x").Encoded()+"-123")
	if err := os.MkdirAll(filepath.Join(debris, "rootfs", "usr"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCache(root, CacheOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(debris); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover staging dir still there: %v", err)
	}
	_ = c
}

func TestPruneRemovesUnkeptLayers(t *testing.T) {
	c, err := OpenCache(filepath.Join(t.TempDir(), "layers"), CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	keep := testLayer(t, &opens, file("keep", "1"))
	drop := testLayer(t, &opens, file("drop", "2222"))
	if _, err := c.Ensure(context.Background(), []Layer{keep, drop}); err != nil {
		t.Fatal(err)
	}
	removed, freed, err := c.Prune(context.Background(), map[digest.Digest]bool{keep.DiffID: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != drop.DiffID || freed <= 0 {
		t.Fatalf("Prune = %v, %d; want [%s] and freed > 0", removed, freed, drop.DiffID)
	}
	if !c.Has(keep.DiffID) || c.Has(drop.DiffID) {
		t.Fatalf("after Prune Has(keep)=%v Has(drop)=%v", c.Has(keep.DiffID), c.Has(drop.DiffID))
	}
}

func TestOpenCacheParallelZeroMeansGOMAXPROCS(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, runtime.GOMAXPROCS(0)}, {2, 2}, {-3, 1}} {
		c, err := OpenCache(filepath.Join(t.TempDir(), "layers"), CacheOptions{Parallel: tc.in})
		if err != nil {
			t.Fatal(err)
		}
		if c.parallel != tc.want {
			t.Errorf("Parallel %d: %d at once, want %d", tc.in, c.parallel, tc.want)
		}
	}
}

func TestEnsureAppliesCacheUnpackOptions(t *testing.T) {
	// The cache's limits reach every unpack; its DiffID does not replace
	// the layer's own.
	c, err := OpenCache(filepath.Join(t.TempDir(), "layers"),
		CacheOptions{Unpack: UnpackOptions{MaxEntries: 1, DiffID: digest.FromString("not this layer")}})
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	one := testLayer(t, &opens, file("a", "1"))
	if _, err := c.Ensure(context.Background(), []Layer{one}); err != nil {
		t.Fatalf("Ensure of a one-entry layer: %v", err)
	}
	two := testLayer(t, &opens, file("a", "1"), file("b", "2"))
	if _, err := c.Ensure(context.Background(), []Layer{two}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Ensure of a two-entry layer = %v, want ErrTooLarge", err)
	}
}

// TestPruneRemovesLockFilesOfLayersNotInTheCache: a refused unpack left
// its layer's lock file for ever, and a prune killed after unpublishing a
// layer left that layer's lock, plus a stray trash-sha256.lock that the
// next opener's staging cleanup made (found by e2e/reliability's hostile
// corpus and its fault point image-prune/after-unpublish). Prune removes
// the locks of layers not in the cache; the staging cleanup of a prune's
// trash takes the layer's own lock.
func TestPruneRemovesLockFilesOfLayersNotInTheCache(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layers")
	c, err := OpenCache(dir, CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	keep := testLayer(t, &opens, file("keep", "1"))
	refused := testLayer(t, &opens, file("../outside", "pwned"))
	if _, err := c.Ensure(context.Background(), []Layer{keep}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Ensure(context.Background(), []Layer{refused}); !errors.Is(err, ErrUnsafePath) {
		t.Fatalf("Ensure of a hostile layer: %v, want ErrUnsafePath", err)
	}
	// A prune killed after unpublishing a layer: its trash and its lock.
	gone := digest.FromString("gone")
	if err := os.MkdirAll(c.path("staging", "trash-"+layerKey(gone), "rootfs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.path("locks", layerKey(gone)+".lock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = OpenCache(dir, CacheOptions{}); err != nil { // the next opener
		t.Fatal(err)
	}
	if left := entriesOf(t, c.path("staging")); len(left) != 0 {
		t.Errorf("the next opener left staging %v", left)
	}
	if _, _, err := c.Prune(context.Background(), map[digest.Digest]bool{keep.DiffID: true}); err != nil {
		t.Fatal(err)
	}
	if left := entriesOf(t, c.path("locks")); len(left) != 1 || left[0] != layerKey(keep.DiffID)+".lock" {
		t.Errorf("after prune the layer locks are %v, want only the kept layer's", left)
	}
}

func entriesOf(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}
