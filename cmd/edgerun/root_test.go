package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
	var stderr bytes.Buffer
	root := newRootCommand(strings.NewReader(""), io.Discard, &stderr, func(string) string { return "" })
	root.AddCommand(&cobra.Command{Use: "lockwait-test", RunE: func(cmd *cobra.Command, _ []string) error {
		time.AfterFunc(lockfile.DefaultNoticeAfter+200*time.Millisecond, func() { held.Unlock() })
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
