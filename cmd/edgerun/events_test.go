package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/events"
)

// TestJournalErrorIsAWarningOnce: an event the journal cannot write (its
// directory is a file here) is said once on stderr, as docs/cli.md quotes
// it, and the caller goes on.
func TestJournalErrorIsAWarningOnce(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "events"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	g := &globalOptions{Root: root, Stderr: &stderr}
	j := g.journal()
	for range 2 {
		j.Append(events.Message{Type: "container", Action: "start", Actor: events.Actor{ID: "c"}})
	}
	want := "edgerun: warning: event journal " + filepath.Join(root, "events") + ": "
	if got := stderr.String(); !strings.HasPrefix(got, want) || strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, " (the operation itself went on)\n") {
		t.Fatalf("stderr %q, want one line starting %q", got, want)
	}
}
