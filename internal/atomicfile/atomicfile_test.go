package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWriteFileReplacesContent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state.json")
	for _, want := range []string{"first", "second"} {
		if err := WriteFile(p, []byte(want), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestWriteFailureKeepsOldAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	if err := WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, 0o644, func(w io.Writer) error {
		if _, err := w.Write([]byte("half")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	got, _ := os.ReadFile(p)
	if string(got) != "old" {
		t.Fatalf("content %q, want old", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("leftover files: %v", ents)
	}
}

func TestWriteFileVolatileReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hosts")
	for _, want := range []string{"first", "second"} {
		if err := WriteFileVolatile(p, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(p); err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temp files left: %v", ents)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, want 0644", st.Mode().Perm())
	}
}

func TestRemoveStaleRemovesOnlyTheTempFilesOfTheName(t *testing.T) {
	dir := t.TempDir()
	files := []string{"images.json", ".images.json.tmp-123", ".other.tmp-456", ".images.json.bak", "images.json.tmp-789"}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	left := func() []string {
		ents, _ := os.ReadDir(dir)
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	if err := RemoveStale(dir, "images.json"); err != nil {
		t.Fatal(err)
	}
	if got := left(); len(got) != 4 || slices.Contains(got, ".images.json.tmp-123") {
		t.Errorf("after RemoveStale(images.json): %v, want all but .images.json.tmp-123", got)
	}
	if err := RemoveStale(dir, "*"); err != nil {
		t.Fatal(err)
	}
	if got := left(); len(got) != 3 || slices.Contains(got, ".other.tmp-456") {
		t.Errorf("after RemoveStale(*): %v, want images.json, .images.json.bak, images.json.tmp-789", got)
	}
}
