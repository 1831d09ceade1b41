package diskspace

import (
	"errors"
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

func (d *fakeDisk) probe(string) (int64, int64, error) {
	d.probes++
	return d.free - *d.written, d.total, nil
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
	if d.probes > int(written/CheckEvery)+2 {
		t.Fatalf("%d probes for %d bytes: want one every %d", d.probes, written, CheckEvery)
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
