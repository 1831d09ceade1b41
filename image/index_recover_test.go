package image

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestDamagedIndexIsRecoveredFromThePreviousCopy: a corrupt images.json
// blocked every run; the copy before its last change is restored, the
// damaged one kept aside, and the user told.
func TestDamagedIndexIsRecoveredFromThePreviousCopy(t *testing.T) {
	root := t.TempDir()
	var notes []string
	s, err := Open(root, StoreOptions{Notice: func(m string) { notes = append(notes, m) }})
	if err != nil {
		t.Fatal(err)
	}
	d1 := digest.FromString("one")
	d2 := digest.FromString("two")
	for _, d := range []digest.Digest{d1, d2} {
		err := s.updateIndex(t.Context(), func(ix *indexFile) error {
			ix.Images[d] = &record{Names: []string{string(d)[7:15] + ":latest"}}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "images.json"), []byte(`{"version": 1, "ima`), 0o600); err != nil {
		t.Fatal(err)
	}
	ix, err := s.readIndex()
	if err != nil {
		t.Fatalf("a damaged index with a good previous copy: %v", err)
	}
	if _, ok := ix.Images[d1]; !ok || len(ix.Images) != 1 {
		t.Errorf("recovered index %v, want the copy before the last change (only %s)", ix.Images, d1)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "recovered from the previous copy") {
		t.Errorf("notices %q, want one saying the index was recovered from the previous copy", notes)
	}
	aside, _ := filepath.Glob(filepath.Join(root, "quarantine", "images.json-*[0-9]"))
	if len(aside) != 1 {
		t.Fatalf("the damaged index was not kept in the quarantine: %v", aside)
	}
	if b, _ := os.ReadFile(aside[0]); string(b) != `{"version": 1, "ima` {
		t.Errorf("the quarantined index is %q, not the damaged one", b)
	}
	if _, err := readIndexFile(filepath.Join(root, "images.json")); err != nil {
		t.Errorf("images.json after recovery: %v", err)
	}
}

// TestDamagedIndexWithoutPreviousCopyIsRebuiltFromTheBlobs: with no
// usable images.json.prev, a damaged index is rebuilt from the blobs:
// every image whose blobs are all there is back, with the names still
// readable in the damaged file, the others untagged; an image with a
// blob missing is left out; the damaged file is quarantined; the user is
// told what happened and what to do.
func TestDamagedIndexWithoutPreviousCopyIsRebuiltFromTheBlobs(t *testing.T) {
	var notes []string
	s := newStoreWith(t, StoreOptions{Notice: func(m string) { notes = append(notes, m) }})
	var ds []digest.Digest
	for _, n := range []string{"first:1", "second:1", "broken:1"} {
		dir := layoutDirWith(t, layoutItem{img: testImage(t, "linux/arm/v7"), ann: refName(n)})
		res, err := s.Load(bg, dir, nil, LoadOptions{Platform: ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}})
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, res[0].Digest)
	}
	want, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	broken, err := s.Get("broken:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(s.blobPath(broken.Manifest.Layers[1].Digest)); err != nil {
		t.Fatal(err)
	}
	// Damage: the index cut before the second of the good images (entries
	// are in digest order), no previous copy.
	b, err := os.ReadFile(s.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	var good []digest.Digest
	for _, d := range sortedDigests(ds) {
		if d != broken.Digest {
			good = append(good, d)
		}
	}
	first, second := good[0], good[1]
	cut := bytes.Index(b, []byte(`"`+second.String()+`"`))
	if cut < 0 {
		t.Fatalf("index %s does not list %s", b, second)
	}
	damaged := slices.Concat(b[:cut], []byte{0, 0, 0})
	if err := os.WriteFile(s.indexPath(), damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(s.indexPath() + ".prev"); err != nil {
		t.Fatal(err)
	}

	got, err := s.List()
	if err != nil {
		t.Fatalf("List with a damaged index and no previous copy: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("rebuilt index lists %d images, want the 2 whose blobs are all there: %+v", len(got), got)
	}
	byDigest := map[digest.Digest]*Image{}
	for _, img := range got {
		byDigest[img.Digest] = img
	}
	for _, w := range want {
		g := byDigest[w.Digest]
		switch {
		case w.Digest == broken.Digest:
			if g != nil {
				t.Errorf("the image with a missing layer is back: %+v", g)
			}
			continue
		case g == nil:
			t.Errorf("image %s (%v) is not back", w.Digest, w.Names)
			continue
		}
		wantNames := w.Names
		if w.Digest != first {
			wantNames = nil // after the damage
		}
		if strings.Join(g.Names, ",") != strings.Join(wantNames, ",") || FormatPlatform(g.Platform) != "linux/arm/v7" {
			t.Errorf("image %s rebuilt with names %v, platform %s; want %v, linux/arm/v7", w.Digest, g.Names, FormatPlatform(g.Platform), wantNames)
		}
		// A nameless image of the rebuild is not a dangling one: image
		// prune (without -a) must keep it.
		if g.NamesLost != (len(wantNames) == 0) {
			t.Errorf("image %s: NamesLost %v with names %v", w.Digest, g.NamesLost, g.Names)
		}
	}
	if len(notes) != 1 {
		t.Fatalf("notices %q, want one", notes)
	}
	for _, w := range []string{"rebuilt it from the", "2 images", "names lost for 1", "edgerun tag", "1 manifests left out"} {
		if !strings.Contains(notes[0], w) {
			t.Errorf("notice %q does not say %q", notes[0], w)
		}
	}
	aside, _ := filepath.Glob(filepath.Join(s.Root(), "quarantine", "images.json-*[0-9]"))
	if len(aside) != 1 {
		t.Fatalf("the damaged index is not in the quarantine: %v", aside)
	}
	if kept, _ := os.ReadFile(aside[0]); !bytes.Equal(kept, damaged) {
		t.Errorf("the quarantined index is not the damaged one")
	}
	// The rebuilt index is the index: read again, nothing more happens,
	// and a lost name can be given back.
	if err := s.Tag("second:1", second); err != nil {
		t.Fatal(err)
	}
	if img, err := s.Get("second:1"); err != nil || img.Digest != second || len(notes) != 1 || img.NamesLost {
		t.Fatalf("Get after re-tagging: %v, %v (notices %d)", img, err, len(notes))
	}
}

func sortedDigests(ds []digest.Digest) []digest.Digest {
	out := append([]digest.Digest(nil), ds...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
