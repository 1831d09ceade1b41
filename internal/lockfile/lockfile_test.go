package lockfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestExclusiveExcludesOthers(t *testing.T) {
	p := filepath.Join(t.TempDir(), "locks", "c.lock")
	l, err := Exclusive(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryExclusive(p); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryExclusive while held: %v, want ErrLocked", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := Shared(ctx, p); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shared while exclusive held: %v, want deadline", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := TryExclusive(p)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	l2.Unlock()
}

func TestSharedLocksCoexist(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.lock")
	a, err := Shared(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Shared(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	a.Unlock()
	b.Unlock()
}

func TestHeldSeesAnotherHolder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "h.lock")
	if Held(p) {
		t.Fatal("Held on a free lock")
	}
	l, err := TryExclusive(p)
	if err != nil {
		t.Fatal(err)
	}
	if !Held(p) {
		t.Fatal("Held is false while the lock is taken")
	}
	l.Unlock()
	if Held(p) {
		t.Fatal("Held after unlock")
	}
}

func TestRemoveDeletesTheFileAndFreesTheLock(t *testing.T) {
	p := filepath.Join(t.TempDir(), "r.lock")
	l, err := Exclusive(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lock file after Remove: %v, want it gone", err)
	}
	if err := l.Remove(); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	s, err := Shared(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unlock()
	if err := s.Remove(); err == nil {
		t.Fatal("Remove of a shared lock succeeded")
	}
}

func TestHeldDoesNotCreateTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "none.lock")
	if Held(p) {
		t.Fatal("Held of a missing lock file")
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Held created %s: %v", p, err)
	}
}

// A waiter that opened the file before its holder removed it must not
// end up holding a lock on the unlinked file while another process locks
// the path's new file.
func TestWaiterOnARemovedFileStartsOver(t *testing.T) {
	p := filepath.Join(t.TempDir(), "w.lock")
	l, err := Exclusive(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *Lock)
	go func() {
		w, err := Exclusive(context.Background(), p)
		if err != nil {
			t.Error(err)
		}
		got <- w
	}()
	// Remove once the waiter has opened the file and waits on it.
	for i := 0; i < 100 && !waiting(t, p); i++ {
		time.Sleep(time.Millisecond)
	}
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	w := <-got
	defer w.Unlock()
	if !Held(p) {
		t.Fatal("the waiter's lock is not on the file at the path")
	}
	if _, err := TryExclusive(p); !errors.Is(err, ErrLocked) {
		t.Fatalf("a new locker got the path while the waiter holds it: %v", err)
	}
}

// waiting says whether another open file of p exists besides the
// holder's, by counting /proc/self/fd links to it.
func waiting(t *testing.T, p string) bool {
	t.Helper()
	fds, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && target == p {
			n++
		}
	}
	return n >= 2
}

func TestLockersNeverOverlapWhileRemoving(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	var inside, overlaps atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				l, err := Exclusive(context.Background(), p)
				if err != nil {
					t.Error(err)
					return
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				inside.Add(-1)
				if i%2 == 0 {
					err = l.Remove()
				} else {
					err = l.Unlock()
				}
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("%d times two lockers held the lock at once", n)
	}
}
