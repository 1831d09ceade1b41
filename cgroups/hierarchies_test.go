package cgroups

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// fakeHierarchies makes two cgroup "mounts" under a temp dir (one with a
// space in its name, escaped as mountinfo does) and a mountinfo naming
// them beside an unrelated mount.
func fakeHierarchies(t *testing.T) (*Hierarchies, []string) {
	t.Helper()
	dir := t.TempDir()
	roots := []string{filepath.Join(dir, "pids"), filepath.Join(dir, "uni fied")}
	info := fmt.Sprintf("30 1 0:27 / /sys rw - sysfs sysfs rw\n"+
		"31 30 0:28 / %s rw - cgroup cgroup rw,pids\n"+
		"32 30 0:29 / %s rw - cgroup2 cgroup2 rw\n"+
		"33 30 0:29 / %s/again rw - cgroup2 cgroup2 rw\n",
		roots[0], filepath.Join(dir, `uni\040fied`), filepath.Join(dir, `uni\040fied`))
	mi := filepath.Join(dir, "mountinfo")
	if err := os.WriteFile(mi, []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	return mountedFrom(mi), roots
}

// mkCgroup makes a fake cgroup; procs "" makes no cgroup.procs file (so
// that rmdir can remove it, as it can an empty real cgroup).
func mkCgroup(t *testing.T, root, path, procs string, age time.Duration) {
	t.Helper()
	d := filepath.Join(root, path)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if procs != "" {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(procs), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	when := time.Now().Add(-age)
	if err := os.Chtimes(d, when, when); err != nil {
		t.Fatal(err)
	}
}

func TestMountedFindsEachHierarchyOnce(t *testing.T) {
	h, roots := fakeHierarchies(t)
	if !slices.Equal(h.Roots(), roots) {
		t.Fatalf("roots %q, want %q (cgroup and cgroup2, unescaped, one per device)", h.Roots(), roots)
	}
}

func TestProcsComeFromWhicheverHierarchyHasThem(t *testing.T) {
	h, roots := fakeHierarchies(t)
	mkCgroup(t, roots[0], "edgerun/a", "", 0)
	mkCgroup(t, roots[1], "edgerun/a", "12\n34\n", 0)
	if got := h.Procs("edgerun/a"); !slices.Equal(got, []int{12, 34}) {
		t.Errorf("procs %v, want [12 34]", got)
	}
	if got := h.Dirs("edgerun/a"); len(got) != 2 {
		t.Errorf("dirs %v, want one per hierarchy", got)
	}
	if got := h.Procs("edgerun/none"); got != nil {
		t.Errorf("procs of a missing cgroup: %v", got)
	}
}

func TestRemoveOrphansTakesOnlyOldEmptyUnkeptCgroups(t *testing.T) {
	h, roots := fakeHierarchies(t)
	for _, r := range roots {
		mkCgroup(t, r, "edgerun/orphan", "", time.Hour)
		mkCgroup(t, r, "edgerun/young", "", 0)
		mkCgroup(t, r, "edgerun/kept", "", time.Hour)
	}
	mkCgroup(t, roots[1], "edgerun/busy", "4242\n", time.Hour)
	err := h.RemoveOrphans("edgerun", func(name string) bool { return name == "kept" }, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roots {
		if _, err := os.Stat(filepath.Join(r, "edgerun/orphan")); err == nil {
			t.Errorf("%s: the orphan is left", r)
		}
		for _, stay := range []string{"young", "kept"} {
			if _, err := os.Stat(filepath.Join(r, "edgerun", stay)); err != nil {
				t.Errorf("%s: %s was removed", r, stay)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(roots[1], "edgerun/busy")); err != nil {
		t.Error("a cgroup with processes was removed")
	}
}

func TestContainsReadsTheProcessesCgroups(t *testing.T) {
	if _, err := os.Stat("/proc/self/cgroup"); err != nil {
		t.Skip("no /proc/self/cgroup")
	}
	if Contains(os.Getpid(), "edgerun/no-such-container") {
		t.Error("this test process is not in a container's cgroup")
	}
}
