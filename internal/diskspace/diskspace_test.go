package diskspace

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultReserve(t *testing.T) {
	const mib, gib = int64(1) << 20, int64(1) << 30
	for _, tc := range []struct {
		total, want int64
	}{
		{32 * gib, 32 * gib / 20}, // an SD card: 5% (1.6 GiB)
		{4 * gib, 256 * mib},      // 5% would be 205 MiB: the floor
		{512 * mib, 128 * mib},    // a small partition keeps three quarters usable
		{1024 * gib, 4 * gib},     // a big disk: the ceiling
		{0, 0},                    // a probe that knows no size
	} {
		if got := DefaultReserve(tc.total); got != tc.want {
			t.Errorf("DefaultReserve(%d) = %d, want %d", tc.total, got, tc.want)
		}
	}
	for _, tc := range []struct{ inodes, want int64 }{
		{2_000_000, 4096}, // a 32 GB card: 1% would be 20,000
		{32_768, 327},     // a 512 MB partition: 1%
		{0, 0},            // a file system that does not count inodes
	} {
		if got := DefaultInodeReserve(tc.inodes); got != tc.want {
			t.Errorf("DefaultInodeReserve(%d) = %d, want %d", tc.inodes, got, tc.want)
		}
	}
	if Reserve(100, 8*gib) != 100 || Reserve(-1, 8*gib) != 0 || Reserve(0, 4*gib) != 256*mib {
		t.Error("Reserve does not resolve >0 as given, <0 as none, 0 as the default")
	}
}

// fakeDisk is a file system of total bytes whose free space shrinks by
// what the guard reports written.
type fakeDisk struct {
	free, total int64
	probes      int
	written     *int64
}

func (d *fakeDisk) probe(string) (Usage, error) {
	d.probes++
	return Usage{Avail: d.free - *d.written, Total: d.total}, nil
}

func TestGuardStopsWhileTheReserveIsLeft(t *testing.T) {
	var written int64
	d := &fakeDisk{free: 300 << 20, total: 4 << 30, written: &written} // reserve 256 MiB
	g := NewGuard("/var/lib/edgerun", 0, d.probe)
	if err := g.Check(); err != nil {
		t.Fatalf("Check with 300 MiB free: %v", err)
	}
	var err error
	for err == nil && written < 1<<30 {
		written += 1 << 20
		err = g.Wrote(1 << 20)
	}
	var low *LowError
	if !errors.As(err, &low) || low.Reserve != 256<<20 || low.Path != "/var/lib/edgerun" {
		t.Fatalf("Wrote = %v, want a LowError keeping 256 MiB", err)
	}
	if left := d.free - written; left < low.Reserve-CheckEvery {
		t.Fatalf("stopped with %d bytes free, more than CheckEvery below the reserve", left)
	}
	// One every CheckEvery, and, closer to the reserve, after half of
	// what is left above it (about log2(CheckEvery / 1 MiB) more).
	if d.probes > int(written/CheckEvery)+6 {
		t.Fatalf("%d probes for %d bytes: want about one every %d", d.probes, written, CheckEvery)
	}
	if g.Wrote(0) == nil {
		t.Fatal("a guard that failed let writing go on")
	}
}

func TestGuardRefusesBeforeWriting(t *testing.T) {
	var written int64
	d := &fakeDisk{free: 100 << 20, total: 4 << 30, written: &written}
	var low *LowError
	if err := NewGuard("/x", 0, d.probe).Check(); !errors.As(err, &low) || low.Avail != 100<<20 {
		t.Fatalf("Check with 100 MiB free = %v, want a LowError", err)
	}
	if err := NewGuard("/x", 50<<20, d.probe).Check(); err != nil {
		t.Fatalf("Check keeping 50 MiB with 100 MiB free: %v", err)
	}
	if g := NewGuard("/x", -1, d.probe); g != nil || g.Check() != nil || g.Wrote(1<<40) != nil || d.probes != 2 {
		t.Fatalf("a negative reserve must check nothing (probes %d)", d.probes)
	}
}

// fewInodes is a file system with plenty of bytes free whose free inodes
// shrink by what the guard reports created.
type fewInodes struct {
	free, inodes int64
	created      *int64
	probes       int
}

func (d *fewInodes) probe(string) (Usage, error) {
	d.probes++
	return Usage{Avail: 100 << 30, Total: 200 << 30, FreeInodes: d.free - *d.created, Inodes: d.inodes}, nil
}

func TestGuardKeepsTheInodeReserve(t *testing.T) {
	var created int64
	// 1,000,000 inodes: the reserve is 4,096; 20,000 are free.
	d := &fewInodes{free: 20_000, inodes: 1_000_000, created: &created}
	g := NewGuard("/var/lib/edgerun", 0, d.probe)
	if err := g.Check(); err != nil {
		t.Fatalf("Check with 20,000 inodes free: %v", err)
	}
	var err error
	for err == nil && created < 1_000_000 {
		created++
		err = g.Created(1)
	}
	var low *LowError
	if !errors.As(err, &low) || !low.Inodes || low.Reserve != 4096 {
		t.Fatalf("Created = %v, want an inode LowError keeping 4096", err)
	}
	if left := d.free - created; left != low.Reserve-1 {
		t.Fatalf("stopped with %d inodes free, want the first file past the reserve (%d) refused", left, low.Reserve)
	}
	if d.probes > int(20_000/CheckEveryInodes)+16 {
		t.Fatalf("%d probes for %d files: want about one every %d", d.probes, created, CheckEveryInodes)
	}
	if !strings.Contains(err.Error(), "inodes (files) free on /var/lib/edgerun, which must keep 4096 free") {
		t.Fatalf("error %q does not say which reserve was reached", err)
	}
	// Already below the reserve: refused before anything is written.
	created = 0
	d = &fewInodes{free: 100, inodes: 1_000_000, created: &created}
	if err := NewGuard("/x", 0, d.probe).Check(); !errors.As(err, &low) || !low.Inodes {
		t.Fatalf("Check with 100 inodes free = %v, want an inode LowError", err)
	}
	// A file system that does not count inodes, or no check at all.
	d = &fewInodes{free: 0, inodes: 0, created: &created}
	if err := NewGuard("/x", 0, d.probe).Check(); err != nil {
		t.Fatalf("Check where inodes are not counted: %v", err)
	}
	d = &fewInodes{free: 0, inodes: 1_000_000, created: &created}
	if g := NewGuard("/x", -1, d.probe); g.Created(1<<20) != nil || d.probes != 0 {
		t.Fatal("a negative reserve must check no inodes either")
	}
}
