package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manDir is where `make man` has TestManPages write the man pages.
// cobra/doc (and go-md2man under it) is linked only into this test
// binary, never into bin/edgerun; a main package under hack/ could not
// build them, since package main (the command tree) cannot be imported.
var manDir = flag.String("man", "", "write the man pages (section 1) into this directory")

// TestManPages generates a man page for every command of the tree, into
// a temporary directory (or -man DIR, for make man), and checks that each
// command has its page with its name, synopsis and options.
func TestManPages(t *testing.T) {
	dir := *manDir
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	root := newRootCommand(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })
	root.InitDefaultCompletionCmd()
	// The defaults of --root and --state are the root user's, not the
	// build machine's user's.
	for _, f := range []string{"root", "state"} {
		fl := root.PersistentFlags().Lookup(f)
		fl.DefValue = map[string]string{"root": "/var/lib/edgerun", "state": "/run/edgerun"}[f]
	}
	root.DisableAutoGenTag = true
	header := &doc.GenManHeader{Title: "EDGERUN", Section: "1", Source: "edgerun", Manual: "edgerun manual"}
	if err := doc.GenManTree(root, header, dir); err != nil {
		t.Fatal(err)
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.IsAvailableCommand() && c != root {
			return
		}
		page := filepath.Join(dir, strings.ReplaceAll(c.CommandPath(), " ", "-")+".1")
		b, err := os.ReadFile(page)
		if err != nil {
			t.Errorf("%s: no man page: %v", c.CommandPath(), err)
			return
		}
		for _, want := range []string{".SH NAME", ".SH SYNOPSIS"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("%s: %s lacks %s", c.CommandPath(), page, want)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
