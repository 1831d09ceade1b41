package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/internal/lockfile"
)

// TestEveryCommandNamesTheLockItWaitsFor: the root command gives every
// subcommand's context the lock-wait notice, so a container command
// waiting on a container's lock says who holds it, as load and pull do.
func TestEveryCommandNamesTheLockItWaitsFor(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.lock")
	held, err := lockfile.TryExclusive(p)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	// The lock is let go once the notice is written, not after a time: a
	// loaded machine may print it late, and it must name a live holder.
	stderr := &noticeWriter{written: make(chan struct{})}
	root := newRootCommand(strings.NewReader(""), io.Discard, stderr, func(string) string { return "" })
	root.AddCommand(&cobra.Command{Use: "lockwait-test", RunE: func(cmd *cobra.Command, _ []string) error {
		go func() {
			select {
			case <-stderr.written:
			case <-time.After(time.Minute):
			}
			held.Unlock()
		}()
		l, err := lockfile.Exclusive(cmd.Context(), p)
		if err != nil {
			return err
		}
		return l.Unlock()
	}})
	root.SetArgs([]string{"lockwait-test"})
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := "edgerun: waiting for lock " + p + " held by PID " + strconv.Itoa(os.Getpid()) + " ("
	if !strings.HasPrefix(stderr.String(), want) {
		t.Fatalf("stderr %q, want it to start with %q", stderr.String(), want)
	}
}

// noticeWriter is a stderr that says when something was first written.
type noticeWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{}
}

func (w *noticeWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() == 0 && len(p) > 0 {
		defer close(w.written)
	}
	return w.buf.Write(p)
}

func (w *noticeWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
