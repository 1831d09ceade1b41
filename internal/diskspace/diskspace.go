// Package diskspace keeps the writers of the image store (load's ingest,
// pull's downloads, layer unpacking) from filling a file system: it says
// how much of it to keep free, and checks as bytes are written that they
// leave that much. It imports nothing of the module.
package diskspace

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// Probe reports the bytes available to this process and the size of the
// file system holding path. Statfs is the real one; tests pass fakes.
type Probe func(path string) (avail, total int64, err error)

// Statfs is the Probe of statfs(2).
func Statfs(path string) (avail, total int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	bsize := int64(st.Bsize) //nolint:unconvert // Bsize is int32 on 32-bit ARM
	return int64(st.Bavail) * bsize, int64(st.Blocks) * bsize, nil
}

// Bounds of DefaultReserve.
const (
	ReserveMin int64 = 256 << 20
	ReserveMax int64 = 4 << 30
)

// DefaultReserve is how much of a file system of total bytes to keep free
// when the caller does not say: 5% of it, at least ReserveMin (256 MiB)
// and at most ReserveMax (4 GiB), and never more than a quarter of it, so
// that a small card can still hold images.
func DefaultReserve(total int64) int64 {
	r := min(max(total/20, ReserveMin), ReserveMax)
	return min(r, total/4)
}

// Reserve resolves a caller's setting: minFree > 0 keeps that many bytes
// free, 0 keeps DefaultReserve(total), < 0 keeps nothing (no check).
func Reserve(minFree, total int64) int64 {
	switch {
	case minFree > 0:
		return minFree
	case minFree < 0:
		return 0
	}
	return DefaultReserve(total)
}

// CheckEvery is how many written bytes a Guard lets pass between probes.
const CheckEvery int64 = 4 << 20

// LowError says that a file system has less free space than its reserve.
type LowError struct {
	Path    string
	Avail   int64
	Reserve int64
}

func (e *LowError) Error() string {
	return fmt.Sprintf("%s free on %s, which must keep %s free", MB(e.Avail), e.Path, MB(e.Reserve))
}

// MB renders a byte count in (decimal) megabytes, as df -H does.
func MB(n int64) string {
	return fmt.Sprintf("%d MB", (n+500_000)/1_000_000)
}

// Guard checks, as a writer goes, that the file system holding its path
// keeps its reserve. It is safe for concurrent use (parallel downloads
// share one). A nil *Guard checks nothing.
type Guard struct {
	path    string
	probe   Probe
	minFree int64

	mu      sync.Mutex
	written int64
	next    int64 // probe again once written reaches it
	err     error // the first failure, returned from then on
}

// NewGuard guards the file system holding path, keeping minFree bytes free
// (as Reserve resolves it); probe nil means Statfs. minFree < 0 returns
// nil: no check.
func NewGuard(path string, minFree int64, probe Probe) *Guard {
	if minFree < 0 {
		return nil
	}
	if probe == nil {
		probe = Statfs
	}
	return &Guard{path: path, probe: probe, minFree: minFree}
}

// Check probes the file system now: before a writer starts.
func (g *Guard) Check() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.checkLocked()
}

// Wrote counts n more bytes written and probes the file system every
// CheckEvery bytes; it fails with a *LowError once less than the reserve
// is free (and keeps failing: a writer must stop).
func (g *Guard) Wrote(n int64) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.written += n
	if g.err != nil || g.written < g.next {
		return g.err
	}
	return g.checkLocked()
}

func (g *Guard) checkLocked() error {
	if g.err != nil {
		return g.err
	}
	g.next = g.written + CheckEvery
	avail, total, err := g.probe(g.path)
	if err != nil {
		g.err = fmt.Errorf("check free space: %w", err)
		return g.err
	}
	if r := Reserve(g.minFree, total); avail < r {
		g.err = &LowError{Path: g.path, Avail: avail, Reserve: r}
	}
	return g.err
}
