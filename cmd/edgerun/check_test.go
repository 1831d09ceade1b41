package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/container"
)

func TestWriteFindings(t *testing.T) {
	var b bytes.Buffer
	if err := writeFindings(&b, nil, false); err != nil || b.String() != "nothing to repair\n" {
		t.Fatalf("clean: %q, %v", b.String(), err)
	}
	found := []container.Finding{
		{Kind: "ingest-leftover", Where: "/r/ingest/tmp-1", Problem: "a temp file", Repair: "remove it", Repaired: true},
		{Kind: "index-unreadable", Where: "/r/images.json", Problem: "corrupt", Repair: "none: restore it"},
		{Kind: "cgroup-orphan", Where: "/sys/fs/cgroup/edgerun/x", Problem: "empty", Repair: "remove it", Error: "device busy"},
	}
	b.Reset()
	if err := writeFindings(&b, found, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "KIND") || strings.Contains(lines[0], "RESULT") ||
		lines[4] != "3 problems found: edgerun check --repair fixes them" {
		t.Fatalf("report:\n%s", b.String())
	}
	b.Reset()
	if err := writeFindings(&b, found, true); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"RESULT", "repaired\n", "not repaired\n", "failed: device busy\n", "3 problems found, 1 repaired\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("repair report lacks %q:\n%s", want, out)
		}
	}
}
