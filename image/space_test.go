package image

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/edgerun/edgerun/internal/diskspace"
)

// nearlyFull fakes an 8 GiB file system (default reserve: 5%, 429 MB)
// with free bytes left, shrinking by shrink at each probe after the first.
type nearlyFull struct {
	free, shrink int64
	probes       atomic.Int64
}

func (d *nearlyFull) probe(string) (diskspace.Usage, error) {
	n := d.probes.Add(1)
	return diskspace.Usage{Avail: d.free - (n-1)*d.shrink, Total: 8 << 30}, nil
}

const defaultReserve8G = 8 << 30 / 20

func TestLoadRefusesWhenTheDiskIsInItsReserve(t *testing.T) {
	s := newStore(t)
	archive := tarDir(t, layoutDirWith(t, layoutItem{img: testImage(t, "linux/amd64"), ann: refName("full:1")}), false, false)
	disk := &nearlyFull{free: defaultReserve8G - 1}
	_, err := s.Load(bg, "-", bytes.NewReader(archive), LoadOptions{DiskSpace: disk.probe})
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "must keep 429 MB free") {
		t.Fatalf("Load on a full disk = %v, want ErrNoSpace naming the reserve", err)
	}
	assertClean(t, s)
	if n := blobCount(t, s); n != 0 {
		t.Fatalf("%d blobs stored on a full disk", n)
	}
}

func TestLoadStopsWhileTheReserveIsLeft(t *testing.T) {
	s := newStore(t)
	img := imageFor(t, HostPlatform(), 24<<20) // random: the archive is as big
	archive := tarDir(t, layoutDirWith(t, layoutItem{img: img, ann: refName("filling:1")}), false, false)
	disk := &nearlyFull{free: defaultReserve8G + 10<<20, shrink: 6 << 20}
	_, err := s.Load(bg, "-", bytes.NewReader(archive), LoadOptions{DiskSpace: disk.probe})
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("Load on a filling disk = %v, want ErrNoSpace", err)
	}
	if disk.probes.Load() < 2 {
		t.Fatalf("%d probes: the space was not checked while the blobs were written", disk.probes.Load())
	}
	assertClean(t, s)
	if n := blobCount(t, s); n != 0 {
		t.Fatalf("%d blobs stored by a load that ran out of space", n)
	}
	// Its own reserve, or none, lets it through.
	for _, minFree := range []int64{1 << 20, -1} {
		disk := &nearlyFull{free: 100 << 20}
		if _, err := s.Load(bg, "-", bytes.NewReader(archive), LoadOptions{MinFree: minFree, DiskSpace: disk.probe}); err != nil {
			t.Fatalf("Load with MinFree %d: %v", minFree, err)
		}
	}
}

func TestPullKeepsTheReserveFree(t *testing.T) {
	reg := startRegistry(t, nil)
	ref := reg.push(t, "test/app:v1", bigImage(t, 2_000_000, 1_000_000))
	s := newStore(t)
	// 12 MB needed, 100 MB free: enough, but not with the 429 MB reserve.
	_, err := s.Pull(bg, ref, pullOpts(PullOptions{
		DiskSpace: func(string) (diskspace.Usage, error) { return diskspace.Usage{Avail: 100_000_000, Total: 8 << 30}, nil },
		Unpack:    func(context.Context, Layer) error { return nil },
	}))
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "which must keep 429 MB free") {
		t.Fatalf("Pull = %v, want ErrNoSpace naming the reserve", err)
	}
	if _, err := s.Pull(bg, ref, pullOpts(PullOptions{
		MinFree:   50_000_000,
		DiskSpace: func(string) (diskspace.Usage, error) { return diskspace.Usage{Avail: 100_000_000, Total: 8 << 30}, nil },
		Unpack:    func(context.Context, Layer) error { return nil },
	})); err != nil {
		t.Fatalf("Pull keeping 50 MB of 100 MB free: %v", err)
	}
}

// TestLoadAndPullRefuseAFileSystemInItsInodeReserve: bytes to spare, but
// fewer free inodes than the reserve (1% of 100,000: 1,000).
func TestLoadAndPullRefuseAFileSystemInItsInodeReserve(t *testing.T) {
	probe := func(string) (diskspace.Usage, error) {
		return diskspace.Usage{Avail: 100 << 30, Total: 200 << 30, FreeInodes: 999, Inodes: 100_000}, nil
	}
	s := newStore(t)
	archive := tarDir(t, layoutDirWith(t, layoutItem{img: testImage(t, "linux/amd64"), ann: refName("few:1")}), false, false)
	_, err := s.Load(bg, "-", bytes.NewReader(archive), LoadOptions{DiskSpace: probe})
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "999 inodes (files) free") || !strings.Contains(err.Error(), "--min-free 0") {
		t.Fatalf("Load with 999 inodes free = %v, want ErrNoSpace naming the inode reserve", err)
	}
	if n := blobCount(t, s); n != 0 {
		t.Fatalf("%d blobs stored in the inode reserve", n)
	}
	reg := startRegistry(t, nil)
	ref := reg.push(t, "test/app:v1", bigImage(t, 200_000, 100_000))
	_, err = s.Pull(bg, ref, pullOpts(PullOptions{DiskSpace: probe, Unpack: func(context.Context, Layer) error { return nil }}))
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "999 inodes (files) free") {
		t.Fatalf("Pull with 999 inodes free = %v, want ErrNoSpace naming the inode reserve", err)
	}
	// --min-free 0 (MinFree < 0) turns the check off.
	if _, err := s.Load(bg, "-", bytes.NewReader(archive), LoadOptions{DiskSpace: probe, MinFree: -1}); err != nil {
		t.Fatalf("Load with no reserve: %v", err)
	}
}
