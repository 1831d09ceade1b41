package rootfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/internal/diskspace"
)

// nearlyFull fakes an 8 GiB file system (the default reserve is then
// 5%: 410 MiB) with free bytes left, shrinking by shrink at each probe
// after the first.
type nearlyFull struct {
	free, shrink int64
	probes       atomic.Int64
}

func (d *nearlyFull) probe(string) (diskspace.Usage, error) {
	n := d.probes.Add(1)
	return diskspace.Usage{Avail: d.free - (n-1)*d.shrink, Total: 8 << 30}, nil
}

const defaultReserve8G = 8 << 30 / 20

// incompressible is a layer of n random bytes, gzip-compressed.
func incompressible(t testing.TB, n int) (raw, blob []byte) {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	raw = buildTar(t, file("data", string(b)))
	return raw, gzipBytes(t, raw)
}

func TestUnpackRefusesWhenTheDiskIsAlreadyInItsReserve(t *testing.T) {
	s := newSandbox(t)
	disk := &nearlyFull{free: defaultReserve8G - 1}
	_, blob := incompressible(t, 1<<20)
	_, err := Unpack(context.Background(), bytes.NewReader(blob), s.dst, UnpackOptions{DiskSpace: disk.probe})
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "must keep 429 MB free") {
		t.Fatalf("Unpack on a full disk = %v, want ErrNoSpace naming the reserve", err)
	}
	if ents, _ := os.ReadDir(s.dst); len(ents) != 0 {
		t.Fatalf("Unpack wrote %d entries before it checked the space", len(ents))
	}
}

func TestUnpackStopsWhileTheReserveIsLeft(t *testing.T) {
	s := newSandbox(t)
	// Room for the start of the layer only: every probe sees 6 MiB less.
	disk := &nearlyFull{free: defaultReserve8G + 10<<20, shrink: 6 << 20}
	_, blob := incompressible(t, 24<<20)
	_, err := Unpack(context.Background(), bytes.NewReader(blob), s.dst, UnpackOptions{DiskSpace: disk.probe})
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Unpack on a filling disk = %v, want ErrNoSpace", err)
	}
	if disk.probes.Load() < 2 {
		t.Fatalf("%d probes: the space was not checked during the unpack", disk.probes.Load())
	}
}

// fewInodes fakes a file system with bytes to spare and free inodes
// counted from dir: what is left of free once dir's entries are made.
type fewInodes struct {
	dir          string
	free, inodes int64
	probes       atomic.Int64
}

func (d *fewInodes) probe(string) (diskspace.Usage, error) {
	d.probes.Add(1)
	var used int64
	_ = filepath.WalkDir(d.dir, func(string, os.DirEntry, error) error { used++; return nil })
	return diskspace.Usage{Avail: 100 << 30, Total: 200 << 30, FreeInodes: d.free - used, Inodes: d.inodes}, nil
}

// TestUnpackKeepsTheInodeReserve: a layer of many empty files (a few
// hundred KB of tar headers, so the byte checks never fire) stops while
// the inode reserve is left, with an error that says so.
func TestUnpackKeepsTheInodeReserve(t *testing.T) {
	ents := make([]ent, 5000)
	for i := range ents {
		ents[i] = file(fmt.Sprintf("f%05d", i), "")
	}
	blob := gzipBytes(t, buildTar(t, ents...))
	s := newSandbox(t)
	// 200,000 inodes: the reserve is 2,000; 4,000 are free.
	disk := &fewInodes{dir: s.dst, free: 4000, inodes: 200_000}
	_, err := Unpack(context.Background(), bytes.NewReader(blob), s.dst, UnpackOptions{DiskSpace: disk.probe})
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "inodes") || !strings.Contains(err.Error(), "must keep 2000 free") {
		t.Fatalf("Unpack of 5,000 files with 4,000 inodes free = %v, want ErrNoSpace naming the inode reserve", err)
	}
	left, _ := disk.probe("")
	if left.FreeInodes < 2000-diskspace.CheckEveryInodes {
		t.Fatalf("stopped with %d inodes free: the reserve (2000) was not kept", left.FreeInodes)
	}
	// With the check off, the same layer unpacks.
	s = newSandbox(t)
	if _, err := Unpack(context.Background(), bytes.NewReader(blob), s.dst, UnpackOptions{MinFree: -1}); err != nil {
		t.Fatalf("Unpack with MinFree -1: %v", err)
	}
}

func TestUnpackReserveIsConfigurable(t *testing.T) {
	_, blob := incompressible(t, 1<<20)
	for _, tc := range []struct {
		name    string
		minFree int64
		free    int64
		ok      bool
	}{
		{"own reserve met", 64 << 20, 100 << 20, true},
		{"own reserve not met", 200 << 20, 100 << 20, false},
		{"no check", -1, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			disk := &nearlyFull{free: tc.free}
			_, err := Unpack(context.Background(), bytes.NewReader(blob), s.dst,
				UnpackOptions{MinFree: tc.minFree, DiskSpace: disk.probe})
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrNoSpace)) {
				t.Fatalf("Unpack = %v, want ok=%v", err, tc.ok)
			}
			if tc.minFree < 0 && disk.probes.Load() != 0 {
				t.Fatalf("MinFree < 0 still probed the disk %d times", disk.probes.Load())
			}
		})
	}
}

func TestEnsureOnAFullDiskLeavesNothing(t *testing.T) {
	root := filepath.Join(t.TempDir(), "layers")
	c, err := OpenCache(root, CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, blob := incompressible(t, 24<<20)
	l := Layer{DiffID: digest.FromBytes(raw), MediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(blob)), nil }}
	disk := &nearlyFull{free: defaultReserve8G + 10<<20, shrink: 6 << 20}
	// The call's own limits override the cache's.
	if _, err := c.EnsureWith(context.Background(), []Layer{l}, UnpackOptions{DiskSpace: disk.probe}); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("EnsureWith on a filling disk = %v, want ErrNoSpace", err)
	}
	for _, d := range []string{filepath.Join(root, "staging"), filepath.Join(root, "sha256")} {
		if ents, _ := os.ReadDir(d); len(ents) != 0 {
			t.Fatalf("%s not empty after running out of space: %v", d, ents)
		}
	}
	if _, err := c.Ensure(context.Background(), []Layer{l}); err != nil {
		t.Fatalf("Ensure with the real disk afterwards: %v", err)
	}
}

// cancelAfter cancels its context once n bytes were read through it.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= int64(n); c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func TestUnpackEndsWithItsContextInsideAFile(t *testing.T) {
	// SIGINT/SIGTERM in the middle of one large file stop the unpack
	// there, not after the file.
	s := newSandbox(t)
	_, blob := incompressible(t, 24<<20)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Unpack(ctx, &cancelAfter{r: bytes.NewReader(blob), n: 2 << 20, cancel: cancel}, s.dst, UnpackOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Unpack = %v, want context.Canceled", err)
	}
	if fi, err := os.Stat(filepath.Join(s.dst, "data")); err == nil && fi.Size() == 24<<20 {
		t.Fatal("the whole file was written after the context ended")
	}
}
