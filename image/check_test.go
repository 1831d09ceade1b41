package image

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/internal/lockfile"
)

func kinds(found []Finding) []string {
	var out []string
	for _, f := range found {
		out = append(out, f.Kind)
	}
	return out
}

func check(t *testing.T, s *Store, opts CheckOptions) []Finding {
	t.Helper()
	found, err := Check(bg, s.root, opts)
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func flipByte(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheckQuarantinesCorruptBlobAndItsImage(t *testing.T) {
	s := newStore(t)
	loadOne(t, s, "busybox")
	img, err := s.Get("busybox")
	if err != nil {
		t.Fatal(err)
	}
	layer := img.Manifest.Layers[0].Digest
	flipByte(t, s.blobPath(layer))
	if found := check(t, s, CheckOptions{}); len(found) != 0 {
		t.Fatalf("a check without Verify re-hashed the blobs: %+v", found)
	}
	found := check(t, s, CheckOptions{Verify: true})
	if !slices.Equal(kinds(found), []string{findBlobCorrupt, findImageBroken}) || found[0].Where != s.blobPath(layer) ||
		!strings.Contains(found[1].Where, "busybox") || found[0].Repaired {
		t.Fatalf("findings %+v, want the corrupt layer blob and its image", found)
	}
	if !s.HasBlob(layer) {
		t.Fatal("a check without Repair moved the blob")
	}
	found = check(t, s, CheckOptions{Verify: true, Repair: true})
	for _, f := range found {
		if !f.Repaired || f.Err != nil {
			t.Errorf("%s not repaired: %v", f.Kind, f.Err)
		}
	}
	if s.HasBlob(layer) {
		t.Error("the corrupt blob is still in the store")
	}
	if _, err := os.Stat(filepath.Join(s.root, "quarantine", "blobs", layer.Encoded())); err != nil {
		t.Errorf("the corrupt blob was not kept in the quarantine: %v", err)
	}
	note, err := os.ReadFile(filepath.Join(s.root, "quarantine", "images", img.Digest.Encoded()+".json"))
	if err != nil || !strings.Contains(string(note), "docker.io/library/busybox:latest") {
		t.Errorf("the image's entry was not kept: %q, %v", note, err)
	}
	if _, err := s.Get("busybox"); !errors.Is(err, ErrNotFound) {
		t.Errorf("the broken image is still in the index: %v", err)
	}
	if imgs, err := s.List(); err != nil || len(imgs) != 0 {
		t.Errorf("list after the repair: %d images, %v", len(imgs), err)
	}
	if found := check(t, s, CheckOptions{Verify: true}); len(found) != 0 {
		t.Errorf("after the repair: %+v", found)
	}
}

func TestCheckFindsImagesWithMissingBlobsWithoutHashing(t *testing.T) {
	s := newStore(t)
	keep := loadOne(t, s, "keep")
	loadOne(t, s, "broken")
	img, err := s.Get("broken")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(s.blobPath(img.ConfigDigest)); err != nil {
		t.Fatal(err)
	}
	found := check(t, s, CheckOptions{Repair: true})
	if !slices.Equal(kinds(found), []string{findImageBroken}) || !found[0].Repaired || !strings.Contains(found[0].Where, "broken") {
		t.Fatalf("findings %+v, want the image without its config, repaired", found)
	}
	imgs, err := s.List()
	if err != nil || len(imgs) != 1 || imgs[0].Digest != keep.Digest {
		t.Fatalf("list after the repair: %v, %v; want only the intact image", imgs, err)
	}
}

func TestCheckQuarantinesFilesThatAreNotBlobs(t *testing.T) {
	s := newStore(t)
	stray := filepath.Join(s.blobDir(), "not-a-digest")
	if err := os.WriteFile(stray, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	found := check(t, s, CheckOptions{Repair: true})
	if !slices.Equal(kinds(found), []string{findBlobInvalid}) || !found[0].Repaired {
		t.Fatalf("findings %+v", found)
	}
	if _, err := os.Stat(filepath.Join(s.root, "quarantine", "blobs", "not-a-digest")); err != nil {
		t.Errorf("not moved aside: %v", err)
	}
}

func TestCheckIngestLeftovers(t *testing.T) {
	now := time.Now().Add(48 * time.Hour) // every file is two days old
	clock := StoreOptions{Now: func() time.Time { return now }}
	s := newStoreWith(t, clock)
	old, young, lone := digest.FromString("old").Encoded(), digest.FromString("young").Encoded(), digest.FromString("lone").Encoded()
	for _, n := range []string{"tmp-1", old, old + ".lock", young, lone + ".lock"} {
		if err := os.WriteFile(filepath.Join(s.ingestDir(), n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fresh := time.Now().Add(47 * time.Hour)
	if err := os.Chtimes(filepath.Join(s.ingestDir(), young), fresh, fresh); err != nil {
		t.Fatal(err)
	}
	// A load or pull at work (the store lock held): its temp files are live.
	l, err := lockfile.Shared(bg, s.storeLock())
	if err != nil {
		t.Fatal(err)
	}
	found := check(t, s, CheckOptions{StoreOptions: clock})
	l.Unlock()
	wantWhere := func(found []Finding, names ...string) {
		t.Helper()
		var got []string
		for _, f := range found {
			got = append(got, filepath.Base(f.Where))
		}
		slices.Sort(got)
		slices.Sort(names)
		if !slices.Equal(got, names) {
			t.Fatalf("ingest leftovers %q, want %q", got, names)
		}
	}
	wantWhere(found, old, lone+".lock")
	found = check(t, s, CheckOptions{StoreOptions: clock, Repair: true})
	wantWhere(found, "tmp-1", old, lone+".lock")
	var left []string
	for _, e := range mustReadDir(t, s.ingestDir()) {
		left = append(left, e.Name())
	}
	if !slices.Equal(left, []string{young}) {
		t.Errorf("ingest after the repair: %q, want only the young partial download", left)
	}
}

func TestCheckReportsDamagedIndexAndRepairRebuildsIt(t *testing.T) {
	s := newStore(t)
	if _, err := s.Load(bg, layoutDirWith(t, layoutItem{img: testImage(t, "linux/amd64"), ann: refName("a:1")}), nil, LoadOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.indexPath(), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(s.indexPath() + ".prev"); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	found := check(t, s, CheckOptions{})
	if !slices.Equal(kinds(found), []string{findIndexCorrupt}) || found[0].Repaired {
		t.Fatalf("findings %+v, want the index reported", found)
	}
	if b, _ := os.ReadFile(s.indexPath()); string(b) != "{" {
		t.Fatalf("check without repair changed the index: %q", b)
	}
	found = check(t, s, CheckOptions{Repair: true})
	if !slices.Equal(kinds(found), []string{findIndexCorrupt}) || !found[0].Repaired {
		t.Fatalf("findings %+v, want the index repaired", found)
	}
	if imgs, err := s.List(); err != nil || len(imgs) != 1 {
		t.Fatalf("images after the repair: %v, %v; want the one loaded, rebuilt from its blobs", imgs, err)
	}
	if found := check(t, s, CheckOptions{}); len(found) != 0 {
		t.Fatalf("findings after the repair: %+v", found)
	}
}

func TestCheckOfMissingRootCreatesNothing(t *testing.T) {
	root := filepath.Join(t.TempDir(), "none")
	found, err := Check(bg, root, CheckOptions{Verify: true})
	if err != nil || len(found) != 0 {
		t.Fatalf("check of a missing root: %+v, %v", found, err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("check created %s", root)
	}
}
