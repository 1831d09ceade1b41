package lockfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLockPIDsReadsHoldersNotWaiters(t *testing.T) {
	const procLocks = `1: FLOCK  ADVISORY  WRITE 4242 fe:00:10216680 0 EOF
1: -> FLOCK  ADVISORY  WRITE 4243 fe:00:10216680 0 EOF
2: FLOCK  ADVISORY  READ 17 fe:00:10216680 0 EOF
3: FLOCK  ADVISORY  READ 4242 fe:00:10216680 0 EOF
4: POSIX  ADVISORY  WRITE 99 fe:01:10216680 0 EOF
5: FLOCK  ADVISORY  WRITE 98 fe:00:1021668 0 EOF
6: OFDLCK ADVISORY  WRITE -1 fe:00:10216680 0 EOF
7: LEASE  ACTIVE    READ 5 00:00:0 0 EOF
garbage
`
	got, err := lockPIDs(strings.NewReader(procLocks), 0xfe, 0, 10216680)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{4242, 17}; !reflect.DeepEqual(got, want) {
		t.Fatalf("holders %v, want %v", got, want)
	}
}

func TestHoldersNamesTheHoldingProcess(t *testing.T) {
	p := filepath.Join(t.TempDir(), "h.lock")
	l, err := TryExclusive(p)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	hs, err := Holders(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || hs[0].PID != os.Getpid() {
		t.Fatalf("holders %v, want this process (%d)", hs, os.Getpid())
	}
	if self := filepath.Base(os.Args[0]); !strings.HasPrefix(hs[0].Command, self) {
		t.Fatalf("holder command %q, want it to start with %q", hs[0].Command, self)
	}
	l.Unlock()
	if hs, err := Holders(p); err != nil || len(hs) != 0 {
		t.Fatalf("holders of a free lock: %v, %v", hs, err)
	}
}

func TestWaitNoticeNamesLockAndHolder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "image.lock")
	held, err := TryExclusive(p)
	if err != nil {
		t.Fatal(err)
	}
	notices := make(chan string, 4)
	ctx := context.WithValue(context.Background(), noticeKey{},
		waitNotice{fn: func(s string) { notices <- s }, after: time.Millisecond})
	got := make(chan error, 1)
	go func() {
		l, err := Shared(ctx, p)
		if err == nil {
			l.Unlock()
		}
		got <- err
	}()
	msg := <-notices
	want := "waiting for lock " + p + " held by PID " + strconv.Itoa(os.Getpid()) + " ("
	if !strings.HasPrefix(msg, want) {
		t.Fatalf("notice %q, want it to start with %q", msg, want)
	}
	held.Unlock()
	if err := <-got; err != nil {
		t.Fatalf("Shared after the holder let go: %v", err)
	}
	if len(notices) != 0 {
		t.Fatalf("more than one notice for one wait: %q", <-notices)
	}
}

func TestCancelledWaitNamesTheHolder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "image.lock")
	held, err := TryExclusive(p)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = Exclusive(ctx, p)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "held by PID "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("Exclusive while held = %v, want a deadline error naming PID %d", err, os.Getpid())
	}
}

func TestShortWaitSaysNothing(t *testing.T) {
	// WithWaitNotice attaches the default delay; a wait shorter than it
	// says nothing.
	p := filepath.Join(t.TempDir(), "quick.lock")
	held, err := TryExclusive(p)
	if err != nil {
		t.Fatal(err)
	}
	called := false
	ctx := WithWaitNotice(context.Background(), func(string) { called = true })
	time.AfterFunc(20*time.Millisecond, func() { held.Unlock() })
	l, err := Exclusive(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	if called {
		t.Fatal("a wait shorter than DefaultNoticeAfter was reported")
	}
}
