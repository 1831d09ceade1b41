package cgroups

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestOrphansListsOldEmptyUnkeptCgroupsAndTouchesNothing(t *testing.T) {
	h, roots := fakeHierarchies(t)
	for _, r := range roots {
		mkCgroup(t, r, "edgerun/orphan", "", time.Hour)
		mkCgroup(t, r, "edgerun/young", "", 0)
		mkCgroup(t, r, "edgerun/kept", "", time.Hour)
	}
	mkCgroup(t, roots[1], "edgerun/busy", "4242\n", time.Hour)
	got := h.Orphans("edgerun", func(name string) bool { return name == "kept" }, time.Minute)
	want := []string{filepath.Join(roots[0], "edgerun/orphan"), filepath.Join(roots[1], "edgerun/orphan")}
	if !slices.Equal(got, want) {
		t.Fatalf("orphans %q, want %q (not the young, kept or busy ones)", got, want)
	}
	for _, d := range want {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("listing removed %s: %v", d, err)
		}
	}
	if got := h.Orphans("none", func(string) bool { return false }, 0); got != nil {
		t.Errorf("orphans under a missing parent: %q", got)
	}
}
