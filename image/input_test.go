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

// stalled is a reader that never returns: a pipe whose writer neither
// writes nor closes.
func stalled(t *testing.T) io.Reader {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(); r.Close() })
	return r
}

func TestLoadFromStalledInputEndsWithItsContext(t *testing.T) {
	archive := tarDir(t, layoutDirWith(t, layoutItem{img: testImage(t, "linux/amd64"), ann: refName("stall:1")}), false, false)
	for _, tc := range []struct {
		name  string
		input func(t *testing.T) (src string, stdin io.Reader)
	}{
		{"stdin that never sends", func(t *testing.T) (string, io.Reader) { return "-", stalled(t) }},
		{"stdin that stalls in a blob", func(t *testing.T) (string, io.Reader) {
			return "-", io.MultiReader(strings.NewReader(string(archive[:len(archive)/2])), stalled(t))
		}},
		{"named pipe nobody opens for writing", func(t *testing.T) (string, io.Reader) {
			p := filepath.Join(t.TempDir(), "fifo")
			if err := unix.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			return p, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			src, stdin := tc.input(t)
			ctx, cancel := context.WithCancelCause(bg)
			time.AfterFunc(50*time.Millisecond, func() { cancel(errors.New("terminated signal received")) })
			err := loadReturns(t, s, ctx, src, stdin)
			if err == nil || !strings.Contains(err.Error(), "terminated signal received") {
				t.Fatalf("Load = %v, want the context's cause", err)
			}
			assertClean(t, s)
			// The store lock was let go: prune takes it exclusively.
			pctx, pcancel := context.WithTimeout(bg, hangLimit)
			defer pcancel()
			if _, _, err := s.Prune(pctx); err != nil {
				t.Fatalf("Prune after the interrupted load: %v", err)
			}
		})
	}
}

func TestCancelReaderPassesTheStreamThrough(t *testing.T) {
	want := strings.Repeat("0123456789abcdef", 50_000) // several of its buffers
	r := newCancelReader(bg, io.MultiReader(strings.NewReader(want[:7]), strings.NewReader(want[7:])))
	got, err := io.ReadAll(io.LimitReader(r, int64(len(want))+1))
	if err != nil || string(got) != want {
		t.Fatalf("read %d bytes, %v; want the %d bytes written", len(got), err, len(want))
	}
}

func TestLoadFromNamedPipe(t *testing.T) {
	// edgerun load -i <(zcat image.tar.gz): the input is a pipe.
	archive := tarDir(t, layoutDirWith(t, layoutItem{img: testImage(t, "linux/amd64"), ann: refName("piped:1")}), false, true)
	p := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		_, _ = f.Write(archive) // a short write fails the Load
		f.Close()
	}()
	s := newStore(t)
	got, err := s.Load(bg, p, nil, LoadOptions{})
	if err != nil || len(got) != 1 || got[0].Names[0] != "docker.io/library/piped:1" {
		t.Fatalf("Load from a named pipe = %+v, %v", got, err)
	}
	assertClean(t, s)
}
