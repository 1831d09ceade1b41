package rootfs

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/internal/lockfile"
)

// cacheWith opens a cache in a temp dir with two published layers.
func cacheWith(t *testing.T) (*Cache, Layer, Layer) {
	t.Helper()
	c, err := OpenCache(filepath.Join(t.TempDir(), "layers"), CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	a, b := testLayer(t, &opens, file("a", "a")), testLayer(t, &opens, file("b", "b"))
	if _, err := c.Ensure(context.Background(), []Layer{a, b}); err != nil {
		t.Fatal(err)
	}
	return c, a, b
}

func checkCache(t *testing.T, c *Cache, opts CacheCheckOptions) []Finding {
	t.Helper()
	found, err := CheckCache(context.Background(), c.dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestCheckCacheFindsLayersWithoutMarker(t *testing.T) {
	c, unused, used := cacheWith(t)
	for _, l := range []Layer{unused, used} {
		if err := os.Remove(filepath.Join(filepath.Dir(c.Dir(l.DiffID)), completeName)); err != nil {
			t.Fatal(err)
		}
	}
	quarantine := filepath.Join(t.TempDir(), "quarantine")
	opts := CacheCheckOptions{InUse: func(d digest.Digest) bool { return d == used.DiffID }, Quarantine: quarantine}
	found := checkCache(t, c, opts)
	if len(found) != 2 || found[0].Kind != findLayerIncomplete || found[1].Kind != findLayerIncomplete {
		t.Fatalf("findings %+v, want both layers without marker", found)
	}
	for _, l := range []Layer{unused, used} {
		if _, err := os.Stat(c.Dir(l.DiffID)); err != nil {
			t.Fatalf("a check without Repair changed the cache: %v", err)
		}
	}
	opts.Repair = true
	for _, f := range checkCache(t, c, opts) {
		if !f.Repaired {
			t.Errorf("%s not repaired: %v", f.Where, f.Err)
		}
	}
	if _, err := os.Stat(filepath.Dir(c.Dir(unused.DiffID))); !os.IsNotExist(err) {
		t.Errorf("the unused layer without marker is left: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(c.Dir(used.DiffID))); !os.IsNotExist(err) {
		t.Errorf("the used layer without marker is still in the cache: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(quarantine, layerKey(used.DiffID), "rootfs", "b")); err != nil || string(b) != "b" {
		t.Errorf("the layer a container uses was not moved aside whole: %q, %v", b, err)
	}
	if note, err := os.ReadFile(filepath.Join(quarantine, layerKey(used.DiffID), "QUARANTINED")); err != nil || !strings.Contains(string(note), "no complete marker") {
		t.Errorf("the quarantined layer has no note saying why: %q, %v", note, err)
	}
	if found := checkCache(t, c, opts); len(found) != 0 {
		t.Errorf("after the repair: %+v", found)
	}
	if _, err := c.Ensure(context.Background(), []Layer{unused, used}); err != nil || !c.Has(unused.DiffID) || !c.Has(used.DiffID) {
		t.Errorf("the layers are not unpacked again: %v", err)
	}
}

func TestCheckCacheFindsStagingOfDeadProcessesOnly(t *testing.T) {
	c, a, _ := cacheWith(t)
	dead := c.path("staging", layerKey(a.DiffID)+"-111")
	live := c.path("staging", layerKey(digest.FromString("other"))+"-222")
	trash := c.path("staging", "trash-"+layerKey(digest.FromString("gone")))
	for _, d := range []string{dead, live, trash} {
		if err := os.MkdirAll(filepath.Join(d, "rootfs"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	unpacking, err := lockfile.TryExclusive(c.path("locks", layerKey(digest.FromString("other"))+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer unpacking.Unlock()
	pruning, err := lockfile.TryExclusive(c.path("cache.lock"))
	if err != nil {
		t.Fatal(err)
	}
	var where []string
	for _, f := range checkCache(t, c, CacheCheckOptions{}) {
		where = append(where, f.Where)
	}
	if !slices.Equal(where, []string{dead}) {
		t.Fatalf("staging leftovers %q, want only %s (the others' processes hold their locks)", where, dead)
	}
	pruning.Unlock()
	where = nil
	for _, f := range checkCache(t, c, CacheCheckOptions{Repair: true}) {
		if !f.Repaired {
			t.Errorf("%s not repaired: %v", f.Where, f.Err)
		}
		where = append(where, f.Where)
	}
	slices.Sort(where)
	if want := []string{dead, trash}; !slices.Equal(where, want) {
		t.Fatalf("staging leftovers %q, want %q", where, want)
	}
	for _, d := range []string{dead, trash} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s is left: %v", d, err)
		}
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("the staging dir of a live unpack was removed: %v", err)
	}
}
