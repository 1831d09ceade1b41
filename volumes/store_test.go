package volumes

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func lockedStore(t *testing.T) *Store {
	t.Helper()
	s := Open(t.TempDir())
	l, err := s.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Unlock() })
	return s
}

func names(t *testing.T, s *Store) []string {
	t.Helper()
	vs, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		out = append(out, v.Name)
	}
	return out
}

func TestCreateIsIdempotentAndDurable(t *testing.T) {
	s := lockedStore(t)
	v, created, err := s.Create("data")
	if err != nil || !created {
		t.Fatalf("Create = %+v, %v, %v; want a new volume", v, created, err)
	}
	if v.Mountpoint != filepath.Join(s.Dir(), "data", "_data") || !v.CopyUp || v.CreatedAt.IsZero() {
		t.Fatalf("new volume = %+v: want its _data, a creation time and a pending copy-up", v)
	}
	if st, err := os.Stat(v.Mountpoint); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("mountpoint: %v, %v; want a 0755 directory", st, err)
	}
	again, created, err := s.Create("data")
	if err != nil || created || again != v {
		t.Fatalf("second Create = %+v, %v, %v; want the same volume, not new", again, created, err)
	}
	if got := names(t, s); !slices.Equal(got, []string{"data"}) {
		t.Fatalf("List = %v", got)
	}
	if left, _ := filepath.Glob(filepath.Join(s.Dir(), ".creating-*")); len(left) > 0 {
		t.Fatalf("staging left: %v", left)
	}
}

func TestCreateRefusesBadNames(t *testing.T) {
	s := lockedStore(t)
	for _, name := range []string{"", "a", ".lock", "..", "-x", "a/b", "../escape", ".creating-x", "x y"} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := s.Create(name); err == nil || !strings.Contains(err.Error(), "volume name") {
				t.Fatalf("Create(%q) = %v, want a volume name error", name, err)
			}
		})
	}
	if got := names(t, s); len(got) != 0 {
		t.Fatalf("bad names left volumes: %v", got)
	}
}

func TestCopiedUpIsRemembered(t *testing.T) {
	s := lockedStore(t)
	if _, _, err := s.Create("db"); err != nil {
		t.Fatal(err)
	}
	if err := s.CopiedUp("db"); err != nil {
		t.Fatal(err)
	}
	v, err := Open(filepath.Dir(s.Dir())).Get("db")
	if err != nil || v.CopyUp {
		t.Fatalf("after CopiedUp: %+v, %v; want no copy-up pending", v, err)
	}
	if err := s.CopiedUp("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CopiedUp of a missing volume = %v, want ErrNotFound", err)
	}
}

func TestRemoveDeletesDataAndCountsIt(t *testing.T) {
	s := lockedStore(t)
	v, _, err := s.Create("logs")
	if err != nil {
		t.Fatal(err)
	}
	// What a container may leave: a locked-down directory, a symlink out.
	outside := t.TempDir()
	locked := filepath.Join(v.Mountpoint, "locked")
	if err := os.MkdirAll(filepath.Join(locked, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(locked, "sub", "f"), make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(v.Mountpoint, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	freed, err := s.Remove("logs")
	if err != nil {
		t.Fatal(err)
	}
	if freed < 64<<10 {
		t.Errorf("freed %d bytes, want at least the 64 KiB file", freed)
	}
	if got := names(t, s); len(got) != 0 {
		t.Fatalf("List after Remove = %v", got)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("the symlink's target went too: %v", err)
	}
	if left, _ := os.ReadDir(s.Dir()); len(left) != 1 || left[0].Name() != ".lock" {
		t.Fatalf("left in the store: %v", left)
	}
	if _, err := s.Remove("logs"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Remove = %v, want ErrNotFound", err)
	}
}

func TestLeftoversAreSweptAndNeverListed(t *testing.T) {
	s := lockedStore(t)
	for _, d := range []string{".creating-x-1/_data", ".removing-y-2/_data", "handmade/_data"} {
		if err := os.MkdirAll(filepath.Join(s.Dir(), d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A directory made by hand is a volume, and never copied into.
	v, err := s.Get("handmade")
	if err != nil || v.CopyUp {
		t.Fatalf("Get(handmade) = %+v, %v; want a volume without copy-up", v, err)
	}
	if got := names(t, s); !slices.Equal(got, []string{"handmade"}) {
		t.Fatalf("List = %v, want only handmade", got)
	}
	if _, _, err := s.Create("new1"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".creating-x-1", ".removing-y-2"} {
		if _, err := os.Stat(filepath.Join(s.Dir(), d)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not swept: %v", d, err)
		}
	}
}

func TestGetAndListOnAMissingStore(t *testing.T) {
	s := Open(filepath.Join(t.TempDir(), "none"))
	if vs, err := s.List(); err != nil || len(vs) != 0 {
		t.Fatalf("List = %v, %v", vs, err)
	}
	if _, err := s.Get("data"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get = %v, want ErrNotFound", err)
	}
	if _, err := s.Get("../etc"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(../etc) = %v, want ErrNotFound", err)
	}
}
