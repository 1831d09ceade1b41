package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/lockfile"
)

// syncBuffer is a bytes.Buffer a command writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitUntil polls ok until it holds, failing the test after cmdTimeout.
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(cmdTimeout); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestLoadFromStalledStdinEndsOnSIGTERMAndFreesTheStoreLock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	stdin, writer, err := os.Pipe() // the writer never sends and never closes
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	load := e.command(ctx, "load", "-i", "-")
	var loadErr syncBuffer
	load.Stdin, load.Stderr = stdin, &loadErr
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- load.Wait() }()

	// The load holds the image store lock while it waits for input.
	storeLock := filepath.Join(e.root, "locks", "image.lock")
	holds := func(pid int) bool {
		hs, _ := lockfile.Holders(storeLock)
		for _, h := range hs {
			if h.PID == pid {
				return true
			}
		}
		return false
	}
	waitUntil(t, "load to take the image store lock", func() bool { return holds(load.Process.Pid) })

	// A prune waits for it, and says for whom.
	prune := e.command(ctx, "image", "prune")
	var pruneErr syncBuffer
	prune.Stderr = &pruneErr
	if err := prune.Start(); err != nil {
		t.Fatal(err)
	}
	pruned := make(chan error, 1)
	go func() { pruned <- prune.Wait() }()
	want := "waiting for lock " + storeLock + " held by PID " + strconv.Itoa(load.Process.Pid) + " (" + filepath.Base(e.bin) + " "
	waitUntil(t, "prune to say whose lock it waits for", func() bool { return strings.Contains(pruneErr.String(), want) })
	if !strings.Contains(pruneErr.String(), "load -i -)") {
		t.Errorf("prune's notice does not name the load: %q", pruneErr.String())
	}

	if err := load.Process.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if code := exitCode(t, err); code == 0 {
			t.Fatalf("load ended by SIGTERM exited 0; stderr: %s", loadErr.String())
		}
		if !strings.Contains(loadErr.String(), "terminated") {
			t.Errorf("load's error does not say it was terminated: %q", loadErr.String())
		}
	case <-ctx.Done():
		t.Fatalf("load -i - with a stalled stdin ignored SIGTERM; stderr: %s", loadErr.String())
	}
	select {
	case err := <-pruned:
		if code := exitCode(t, err); code != 0 {
			t.Fatalf("prune after the load ended: exit %d: %s", code, pruneErr.String())
		}
	case <-ctx.Done():
		t.Fatalf("prune still waits after the load ended: %s", pruneErr.String())
	}
	if hs, err := lockfile.Holders(storeLock); err != nil || len(hs) != 0 {
		t.Fatalf("image store lock still held: %v %v", hs, err)
	}
	e.must("image", "prune")
	if left := entries(filepath.Join(e.root, "ingest")); len(left) > 0 {
		t.Errorf("interrupted load left ingest files: %v", left)
	}
}
