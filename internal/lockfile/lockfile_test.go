package lockfile

import (
	"context"
	"errors"
	"path/filepath"
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
