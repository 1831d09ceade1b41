package image

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hangLimit bounds a call that must not block; reaching it fails the test
// as a hang. It is not a performance assertion.
const hangLimit = 30 * time.Second

// loadReturns runs a Load and fails the test if it never returns.
func loadReturns(t *testing.T, s *Store, ctx context.Context, src string, stdin io.Reader) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := s.Load(ctx, src, stdin, LoadOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(hangLimit):
		t.Fatalf("Load of %s did not return", src)
		return nil
	}
}

// layoutWithFIFO writes a layout with one image and replaces the file
// at rel (relative to the layout) with a FIFO that nobody writes.
func layoutWithFIFO(t *testing.T, rel func(dir string) string) (dir, fifo string) {
	t.Helper()
	dir = layoutDirWith(t, layoutItem{img: testImage(t, "linux/amd64"), ann: refName("fifo:1")})
	fifo = filepath.Join(dir, rel(dir))
	if err := os.Remove(fifo); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, fifo
}

func TestLoadRefusesNonRegularLayoutFiles(t *testing.T) {
	firstBlob := func(dir string) string {
		ents, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
		if err != nil || len(ents) == 0 {
			t.Fatalf("layout has no blobs: %v", err)
		}
		return filepath.Join("blobs", "sha256", ents[0].Name())
	}
	for _, tc := range []struct {
		name string
		rel  func(dir string) string
	}{
		{"blob", firstBlob},
		{"index.json", func(string) string { return "index.json" }},
		{"oci-layout", func(string) string { return "oci-layout" }},
	} {
		t.Run(tc.name+" is a FIFO", func(t *testing.T) {
			s := newStore(t)
			dir, fifo := layoutWithFIFO(t, tc.rel)
			err := loadReturns(t, s, bg, dir, nil)
			if !errors.Is(err, ErrInvalidImage) || !strings.Contains(err.Error(), fifo) ||
				!strings.Contains(err.Error(), "not a regular file") {
				t.Fatalf("Load = %v, want ErrInvalidImage naming %s as not a regular file", err, fifo)
			}
			assertClean(t, s)
			if n := blobCount(t, s); n != 0 {
				t.Fatalf("%d blobs stored from a refused layout", n)
			}
		})
	}
	t.Run("blob is a symlink to a device", func(t *testing.T) {
		s := newStore(t)
		dir := layoutDirWith(t, layoutItem{img: testImage(t, "linux/amd64"), ann: refName("dev:1")})
		blob := filepath.Join(dir, firstBlob(dir))
		if err := os.Remove(blob); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("/dev/zero", blob); err != nil {
			t.Fatal(err)
		}
		err := loadReturns(t, s, bg, dir, nil)
		if !errors.Is(err, ErrInvalidImage) || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("Load = %v, want ErrInvalidImage: not a regular file", err)
		}
		assertClean(t, s)
	})
}
