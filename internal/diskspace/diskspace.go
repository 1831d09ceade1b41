// Package diskspace keeps the writers of the image store (load's ingest,
// pull's downloads, layer unpacking) from filling a file system: it says
// how much of it to keep free, bytes and inodes, and checks as bytes are
// written and files created that they leave that much. It imports nothing
// of the module.
package diskspace

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// Usage is what a Probe reports of the file system holding a path.
type Usage struct {
	Avail, Total int64 // bytes available to this process; the size
	// Inodes free and in all; Inodes 0 means the file system does not
	// count them (btrfs, an unlimited tmpfs): no inode check.
	FreeInodes, Inodes int64
}

// Probe reports the usage of the file system holding path. Statfs is the
// real one; tests pass fakes.
type Probe func(path string) (Usage, error)

// Statfs is the Probe of statfs(2).
func Statfs(path string) (Usage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return Usage{}, fmt.Errorf("statfs %s: %w", path, err)
	}
	bsize := int64(st.Bsize) //nolint:unconvert // Bsize is int32 on 32-bit ARM
	return Usage{Avail: int64(st.Bavail) * bsize, Total: int64(st.Blocks) * bsize,
		FreeInodes: int64(st.Ffree), Inodes: int64(st.Files)}, nil //nolint:gosec // inode counts fit
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

// InodeReserveMax bounds DefaultInodeReserve.
const InodeReserveMax int64 = 4096

// DefaultInodeReserve is how many inodes of a file system of inodes in
// all to keep free: 1% of them, at most InodeReserveMax (4096). A layer
// of many small files (or a hostile one of empty files) can use up the
// inodes of a card long before its bytes; what is kept is enough for the
// rest of the system to go on creating its logs, locks and records.
func DefaultInodeReserve(inodes int64) int64 {
	return min(inodes/100, InodeReserveMax)
}

// CheckEvery is how many written bytes a Guard lets pass between probes
// at most; closer to the reserve it probes again after half of what is
// left above it.
const CheckEvery int64 = 4 << 20

// CheckEveryInodes is how many created files a Guard lets pass between
// probes at most (half of what is left above the reserve, closer to it):
// a layer of empty files writes a tar header (512 bytes) per file, so
// CheckEvery alone would let 8,192 of them pass.
const CheckEveryInodes int64 = 512

// LowError says that a file system has less free space, or fewer free
// inodes (Inodes), than its reserve.
type LowError struct {
	Path    string
	Avail   int64 // bytes, or inodes when Inodes
	Reserve int64
	Inodes  bool
}

func (e *LowError) Error() string {
	if e.Inodes {
		return fmt.Sprintf("%d inodes (files) free on %s, which must keep %d free", e.Avail, e.Path, e.Reserve)
	}
	return fmt.Sprintf("%s free on %s, which must keep %s free", MB(e.Avail), e.Path, MB(e.Reserve))
}

// MB renders a byte count in (decimal) megabytes, as df -H does.
func MB(n int64) string {
	return fmt.Sprintf("%d MB", (n+500_000)/1_000_000)
}

// Guard checks, as a writer goes, that the file system holding its path
// keeps its reserve of bytes and of inodes. It is safe for concurrent use
// (parallel downloads share one). A nil *Guard checks nothing.
type Guard struct {
	path    string
	probe   Probe
	minFree int64

	mu        sync.Mutex
	written   int64
	next      int64 // probe again once written reaches it
	created   int64
	nextFiles int64 // probe again once created reaches it
	err       error // the first failure, returned from then on
}

// NewGuard guards the file system holding path, keeping minFree bytes free
// (as Reserve resolves it) and DefaultInodeReserve inodes; probe nil means
// Statfs. minFree < 0 returns nil: no check, of bytes or inodes.
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

// Created counts n more files (inodes) about to be created and probes
// the file system every CheckEveryInodes of them; it fails like Wrote.
func (g *Guard) Created(n int64) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.created += n
	if g.err != nil || g.created < g.nextFiles {
		return g.err
	}
	return g.checkLocked()
}

func (g *Guard) checkLocked() error {
	if g.err != nil {
		return g.err
	}
	u, err := g.probe(g.path)
	if err != nil {
		g.err = fmt.Errorf("check free space: %w", err)
		return g.err
	}
	if g.err = u.Low(g.path, g.minFree); g.err != nil {
		return g.err
	}
	// Probe again after half the headroom, so that a small reserve (or a
	// small file system) is not overshot by a whole step.
	g.next = g.written + halfOf(u.Avail-Reserve(g.minFree, u.Total), CheckEvery)
	g.nextFiles = g.created + CheckEveryInodes
	if u.Inodes > 0 {
		g.nextFiles = g.created + halfOf(u.FreeInodes-DefaultInodeReserve(u.Inodes), CheckEveryInodes)
	}
	return nil
}

// halfOf is half of headroom, at least 1 and at most limit.
func halfOf(headroom, limit int64) int64 {
	return min(max(headroom/2, 1), limit)
}

// Low returns a *LowError when u leaves less than the reserve free:
// minFree bytes (as Reserve resolves it), then DefaultInodeReserve
// inodes; nil when both are kept, or when minFree < 0.
func (u Usage) Low(path string, minFree int64) error {
	if minFree < 0 {
		return nil
	}
	if r := Reserve(minFree, u.Total); u.Avail < r {
		return &LowError{Path: path, Avail: u.Avail, Reserve: r}
	}
	return u.LowInodes(path)
}

// LowInodes is Low's inode part alone: a *LowError when fewer than
// DefaultInodeReserve inodes are free.
func (u Usage) LowInodes(path string) error {
	if r := DefaultInodeReserve(u.Inodes); u.Inodes > 0 && u.FreeInodes < r {
		return &LowError{Path: path, Avail: u.FreeInodes, Reserve: r, Inodes: true}
	}
	return nil
}
