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
)

// loadOne loads a fresh random image under the given names.
func loadOne(t *testing.T, s *Store, names ...string) Loaded {
	t.Helper()
	var items []layoutItem
	img := testImage(t, "linux/amd64")
	for _, n := range names {
		items = append(items, layoutItem{img: img, ann: refName(n)})
	}
	if len(names) == 0 {
		items = []layoutItem{{img: img}}
	}
	got, err := s.Load(bg, layoutDirWith(t, items...), nil, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return got[0]
}

func TestGet(t *testing.T) {
	s := newStore(t)
	l := loadOne(t, s, "busybox")
	hex := l.Digest.Encoded()
	cases := []struct {
		ref     string
		wantErr error
	}{
		{"busybox", nil},
		{"busybox:latest", nil},
		{"docker.io/library/busybox:latest", nil},
		{"index.docker.io/library/busybox", nil},
		{l.Digest.String(), nil},
		{hex[:12], nil},
		{"sha256:" + hex[:8], nil},
		{hex[:3], ErrNotFound}, // too short for an ID
		{"busybox:1", ErrNotFound},
		{"ffffffffffff", ErrNotFound},
		{"sha256:../../x", ErrNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.ref, func(t *testing.T) {
			img, err := s.Get(tc.ref)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.Digest != l.Digest || img.Size <= 0 || img.Created.Year() != 2024 || FormatPlatform(img.Platform) != "linux/amd64" {
				t.Fatalf("got %+v", img)
			}
		})
	}
}

func TestResolveAmbiguousPrefix(t *testing.T) {
	a := digest.Digest("sha256:abcd" + strings.Repeat("0", 60))
	b := digest.Digest("sha256:abcd" + strings.Repeat("1", 60))
	ix := &indexFile{Images: map[digest.Digest]*record{a: {}, b: {}}}
	if _, _, err := ix.resolve("abcd"); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("err = %v, want ErrAmbiguous", err)
	}
	if d, _, err := ix.resolve("abcd1"); err != nil || d != b {
		t.Fatalf("abcd1 -> %s, %v", d, err)
	}
}

func TestTag(t *testing.T) {
	s := newStore(t)
	a, b := loadOne(t, s, "app:1"), loadOne(t, s, "app:2")
	if err := s.Tag("app:stable", a.Digest); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("app:stable", b.Digest); err != nil { // moves the tag
		t.Fatal(err)
	}
	img, _ := s.Get("app:stable")
	if img.Digest != b.Digest {
		t.Fatalf("app:stable -> %s, want %s", img.Digest, b.Digest)
	}
	if img, _ := s.Get(a.Digest.String()); !slices.Equal(img.Names, []string{"docker.io/library/app:1"}) {
		t.Fatalf("old image names %v", img.Names)
	}
	if err := s.Tag("x", digest.FromString("nope")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("tagging a missing image: %v", err)
	}
	if err := s.Tag("Bad Name", a.Digest); err == nil {
		t.Fatal("bad name accepted")
	}
}

func TestRemove(t *testing.T) {
	inUseBy := func(used digest.Digest) func(digest.Digest) (string, bool) {
		return func(d digest.Digest) (string, bool) { return "web1", d == used }
	}
	cases := []struct {
		name        string
		ref         func(l Loaded) string
		inUse       bool
		force       bool
		wantRemoved []string // "Deleted" stands for the digest line
		wantErr     error
		wantLeft    []string // names left on the image, nil if deleted
	}{
		{"untag one of two names", func(Loaded) string { return "app:1" }, true, false,
			[]string{"Untagged: docker.io/library/app:1"}, nil, []string{"docker.io/library/app:2"}},
		{"by ID removes all names", func(l Loaded) string { return l.Digest.Encoded()[:12] }, false, false,
			[]string{"Untagged: docker.io/library/app:1", "Untagged: docker.io/library/app:2", "Deleted"}, nil, nil},
		{"in use is refused", func(l Loaded) string { return l.Digest.String() }, true, false,
			nil, ErrInUse, []string{"docker.io/library/app:1", "docker.io/library/app:2"}},
		{"in use with force", func(l Loaded) string { return l.Digest.String() }, true, true,
			[]string{"Untagged: docker.io/library/app:1", "Untagged: docker.io/library/app:2", "Deleted"}, nil, nil},
		{"unknown", func(Loaded) string { return "nothere" }, false, false, nil, ErrNotFound,
			[]string{"docker.io/library/app:1", "docker.io/library/app:2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			l := loadOne(t, s, "app:1", "app:2")
			opts := RemoveOptions{Force: tc.force}
			if tc.inUse {
				opts.InUse = inUseBy(l.Digest)
			}
			removed, err := s.Remove(tc.ref(l), opts)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if errors.Is(err, ErrInUse) && !strings.Contains(err.Error(), "container web1: stop and remove it, or use --force") {
				t.Errorf("in-use error does not say what to do: %v", err)
			}
			want := slices.Clone(tc.wantRemoved)
			if i := slices.Index(want, "Deleted"); i >= 0 {
				want[i] = "Deleted: " + l.Digest.String()
			}
			if !slices.Equal(removed, want) {
				t.Errorf("removed %q, want %q", removed, want)
			}
			img, err := s.Get(l.Digest.String())
			if tc.wantLeft == nil {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("image still there: %v", err)
				}
				return
			}
			if err != nil || !slices.Equal(img.Names, tc.wantLeft) {
				t.Fatalf("names %v (%v), want %v", img, err, tc.wantLeft)
			}
		})
	}
}

func TestRemoveLastNameOfImageInUseIsRefused(t *testing.T) {
	s := newStore(t)
	l := loadOne(t, s, "app:1")
	_, err := s.Remove("app:1", RemoveOptions{InUse: func(d digest.Digest) (string, bool) { return "c1", d == l.Digest }})
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("err = %v, want ErrInUse", err)
	}
}

func TestPrune(t *testing.T) {
	now := time.Now()
	s := newStoreWith(t, StoreOptions{Now: func() time.Time { return now }})
	keep := loadOne(t, s, "keep:1")
	gone := loadOne(t, s, "gone:1")
	// Leftovers of dead writers.
	stale := filepath.Join(s.ingestDir(), digest.FromString("old").Encoded())
	fresh := filepath.Join(s.ingestDir(), digest.FromString("new").Encoded())
	tmp := filepath.Join(s.ingestDir(), "tmp-123")
	for _, p := range []string{stale, fresh, tmp, stale + ".lock", fresh + ".lock"} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(stale, now.Add(-48*time.Hour), now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Remove("gone:1", RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	removed, freed, err := s.Prune(bg)
	if err != nil {
		t.Fatal(err)
	}
	goneImg := 4 // manifest, config, 2 layers
	if len(removed) != goneImg || freed <= 0 || !slices.Contains(removed, gone.Digest) {
		t.Fatalf("removed %v (%d bytes)", removed, freed)
	}
	if n := blobCount(t, s); n != 4 {
		t.Fatalf("%d blobs left, want 4", n)
	}
	img, err := s.Get("keep:1")
	if err != nil || img.Digest != keep.Digest {
		t.Fatalf("kept image broken: %v", err)
	}
	for _, l := range s.Layers(img) {
		if !s.HasBlob(l.Desc.Digest) {
			t.Fatalf("layer %s of a kept image pruned", l.Desc.Digest)
		}
	}
	for p, want := range map[string]bool{stale: false, stale + ".lock": false, tmp: false, fresh: true, fresh + ".lock": true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists=%v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}

func TestDiffIDs(t *testing.T) {
	s := newStore(t)
	loadOne(t, s, "a")
	img, _ := s.Get("a")
	ids, err := s.DiffIDs()
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 {
		t.Fatalf("%d diff IDs, want 2", len(ids))
	}
	for _, l := range s.Layers(img) {
		if !ids[l.DiffID] || l.DiffID == l.Desc.Digest { // gzip layers: diff ID differs
			t.Fatalf("layer %+v", l)
		}
	}
}

func TestIngestResume(t *testing.T) {
	s := newStore(t)
	content := []byte("0123456789abcdef")
	d := digest.FromBytes(content)
	w, err := s.resumeIngest(bg, d, int64(len(content)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content[:6]); err != nil {
		t.Fatal(err)
	}
	if err := w.f.Sync(); err != nil {
		t.Fatal(err)
	}
	w.release() // the writer dies mid-way; the partial file stays
	w.f.Close()

	w, err = s.resumeIngest(bg, d, int64(len(content)))
	if err != nil {
		t.Fatal(err)
	}
	if w.Offset() != 6 {
		t.Fatalf("resumed at %d, want 6", w.Offset())
	}
	if s.HasBlob(d) {
		t.Fatal("partial blob visible")
	}
	if _, err := w.Write(content[6:]); err != nil {
		t.Fatal(err)
	}
	if err := w.finish(); err != nil {
		t.Fatal(err)
	}
	if err := w.commit(); err != nil {
		t.Fatal(err)
	}
	if !s.HasBlob(d) {
		t.Fatal("committed blob missing")
	}
}

func TestIngestRejectsOversizeAndMismatch(t *testing.T) {
	s := newStore(t)
	d := digest.FromString("abc")
	w, _ := s.newIngest(d, 3)
	if _, err := w.Write([]byte("abcd")); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("oversize write: %v", err)
	}
	w.discard()
	w, _ = s.newIngest(d, 3)
	if _, err := w.Write([]byte("abd")); err != nil { // the right size: finish finds the wrong digest
		t.Fatal(err)
	}
	if err := w.finish(); !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("finish: %v", err)
	}
	if s.HasBlob(d) || len(mustReadDir(t, s.ingestDir())) != 0 {
		t.Fatalf("unverified content or its lock file left behind: %v", mustReadDir(t, s.ingestDir()))
	}
}

func mustReadDir(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	e, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestTempFilesOfInterruptedIndexWritesAreRemoved: a kill -9 while
// images.json was written left its temp file in the root for ever (found
// by e2e/reliability's TestRandomKills); the next index update or prune
// removes it.
func TestTempFilesOfInterruptedIndexWritesAreRemoved(t *testing.T) {
	s := newStore(t)
	tmp := filepath.Join(s.root, ".images.json.tmp-123")
	for _, step := range []struct {
		what string
		do   func() error
	}{
		{"a load (an index update)", func() error { loadOne(t, s, "a:1"); return nil }},
		{"image prune", func() error { _, _, err := s.Prune(bg); return err }},
	} {
		if err := os.WriteFile(tmp, []byte(`{"ver`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(tmp); err == nil {
			t.Errorf("%s left %s", step.what, filepath.Base(tmp))
		}
	}
	if _, err := s.Get("a:1"); err != nil {
		t.Errorf("the index lost its image: %v", err)
	}
}
