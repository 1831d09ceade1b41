package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
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
	if len(notes) != 1 || !strings.Contains(notes[0], "restored") {
		t.Errorf("notices %q, want one saying the index was restored", notes)
	}
	aside, _ := filepath.Glob(filepath.Join(root, "images.json.corrupt-*"))
	if len(aside) != 1 {
		t.Errorf("the damaged index was not kept aside: %v", aside)
	}
	if _, err := readIndexFile(filepath.Join(root, "images.json")); err != nil {
		t.Errorf("images.json after recovery: %v", err)
	}
	// Damaged with no usable previous copy: a clear error, nothing moved.
	os.Remove(filepath.Join(root, "images.json.prev"))
	if err := os.WriteFile(filepath.Join(root, "images.json"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.readIndex(); err == nil || !strings.Contains(err.Error(), "no usable previous copy") {
		t.Errorf("no previous copy: %v", err)
	}
}
