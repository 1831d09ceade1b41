package container

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgerun/edgerun/rootfs"
)

func randomID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// makeCgroup makes /edgerun/<id> on every cgroup hierarchy, with its time
// set age ago; it returns the directories (removed at the end).
func makeCgroup(t *testing.T, r *Runtime, id string, age time.Duration) []string {
	t.Helper()
	var dirs []string
	for _, m := range r.hierarchies().Roots() {
		d := filepath.Join(m, "edgerun", id)
		if err := os.MkdirAll(d, 0o755); err != nil {
			continue // a hierarchy that refuses (named, read-only): the others do
		}
		when := time.Now().Add(-age)
		if err := os.Chtimes(d, when, when); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	if len(dirs) == 0 {
		t.Skip("no cgroup hierarchy to make a cgroup in")
	}
	t.Cleanup(func() {
		for _, d := range dirs {
			_ = os.Remove(d)
		}
	})
	return dirs
}

// TestCleanupRemovesOrphanedCgroupsOnly: a cgroup of no container (a run
// killed between making it and recording it) goes; a young one, one with
// a process, and one of a known container stay.
func TestCleanupRemovesOrphanedCgroupsOnly(t *testing.T) {
	r := testRuntime(t)
	orphan, young, busy := randomID(t), randomID(t), randomID(t)
	makeCgroup(t, r, orphan, 2*orphanCgroupAge)
	makeCgroup(t, r, young, 0)
	// Young until its process is in: an old empty cgroup is any concurrent
	// edgerun's to remove (other tests run edgerun commands meanwhile).
	busyDirs := makeCgroup(t, r, busy, 0)
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sleep.Process.Kill(); _ = sleep.Wait() }()
	if err := os.WriteFile(filepath.Join(busyDirs[0], "cgroup.procs"), []byte(strconv.Itoa(sleep.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range busyDirs {
		when := time.Now().Add(-2 * orphanCgroupAge)
		if err := os.Chtimes(d, when, when); err != nil {
			t.Fatal(err)
		}
	}
	// The walk happens at most every orphanCgroupAge/2; Open walked.
	if err := os.Remove(filepath.Join(r.cfg.State, "cgroups-swept")); err != nil {
		t.Fatal(err)
	}
	if err := r.cleanup(); err != nil {
		t.Fatal(err)
	}
	if left := r.hierarchies().Dirs(r.cgroupPath(orphan)); len(left) != 0 {
		t.Errorf("the orphaned cgroup is left: %v", left)
	}
	// The stamp tells when the last walk was: a cleanup within
	// orphanCgroupAge/2 of it does not walk (nor stamp) again, a later one
	// does.
	stamp := filepath.Join(r.cfg.State, "cgroups-swept")
	for _, tt := range []struct {
		ago   time.Duration
		walks bool
	}{{orphanCgroupAge / 4, false}, {orphanCgroupAge, true}} {
		when := time.Now().Add(-tt.ago).Truncate(time.Second)
		if err := os.Chtimes(stamp, when, when); err != nil {
			t.Fatal(err)
		}
		if err := r.cleanup(); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(stamp)
		if err != nil {
			t.Fatal(err)
		}
		if walked := !fi.ModTime().Equal(when); walked != tt.walks {
			t.Errorf("last walk %v ago: walked %v, want %v", tt.ago, walked, tt.walks)
		}
	}
	if len(r.hierarchies().Dirs(r.cgroupPath(young))) == 0 {
		t.Error("a cgroup younger than a minute was removed: it may be another root's container starting")
	}
	if len(r.hierarchies().Dirs(r.cgroupPath(busy))) == 0 {
		t.Error("a cgroup with a process in it was removed")
	}
	_ = sleep.Process.Kill()
	_ = sleep.Wait()
}

// The IDs of this process's user namespace, each range onto itself: in
// the initial namespace that is every ID, and more than one.
func TestSessionIDsMapTheNamespacesRangesOntoThemselves(t *testing.T) {
	m, err := rootfs.ReadIDMap()
	if err != nil {
		t.Skipf("no ID maps here: %v", err)
	}
	single, maps := sessionIDs()
	if maps == nil || len(maps.UIDs) != len(m.UIDs) || len(maps.GIDs) != len(m.GIDs) {
		t.Fatalf("maps %+v for uid_map %+v, gid_map %+v", maps, m.UIDs, m.GIDs)
	}
	var n int64
	for i, r := range m.UIDs {
		n += r.Size
		if got := maps.UIDs[i]; int64(got.ContainerID) != r.Inside || got.HostID != got.ContainerID || int64(got.Size) != r.Size {
			t.Errorf("uid range %+v: mapped as %+v, want onto itself", r, got)
		}
	}
	if single != (n == 1) {
		t.Errorf("single ID %v for %d mapped IDs", single, n)
	}
}

// TestRefreshReadsTheRecordAgainOnceTheOwnerIsGone: a record read while
// its container ran, refreshed after the monitor recorded the exit and
// went away, gets the recorded exit, not "owner died unseen" (-1).
func TestRefreshReadsTheRecordAgainOnceTheOwnerIsGone(t *testing.T) {
	dir := t.TempDir()
	r, err := openRoots(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state")}, true)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("ab", 32)
	if err := os.MkdirAll(r.containerDir(id), 0o700); err != nil {
		t.Fatal(err)
	}
	stale := &Record{ID: id, Name: "short", State: StateRunning, Pid: 4242}
	finished := time.Now().UTC()
	if err := r.saveRecord(&Record{ID: id, Name: "short", State: StateExited, ExitCode: 3, FinishedAt: finished}); err != nil {
		t.Fatal(err)
	}
	r.refresh(stale)
	if stale.State != StateExited || stale.ExitCode != 3 || !stale.FinishedAt.Equal(finished) {
		t.Fatalf("refreshed: state %s, exit code %d, finished %v; want exited, 3, %v", stale.State, stale.ExitCode, stale.FinishedAt, finished)
	}
	// Still running on disk, with no owner: the owner died unseen.
	if err := r.saveRecord(&Record{ID: id, Name: "short", State: StateRunning, Pid: 4242}); err != nil {
		t.Fatal(err)
	}
	lost := &Record{ID: id, Name: "short", State: StateRunning, Pid: 4242}
	r.refresh(lost)
	if lost.State != StateExited || lost.ExitCode != -1 {
		t.Fatalf("refreshed a lost container: state %s, exit code %d; want exited, -1", lost.State, lost.ExitCode)
	}
}

func TestStatExitingReadsPFExiting(t *testing.T) {
	for _, tt := range []struct {
		name, stat string
		want       bool
	}{
		{"running", "42 (sh) S 1 42 42 0 -1 4194560 120 0 0 0", false},
		{"exiting", "42 (sh) S 1 42 42 0 -1 4194564 120 0 0 0", true},
		{"a name with a paren and spaces", "42 (a) b (c) S 1 42 42 0 -1 4 120", true},
		{"short", "42 (sh) S 1", false},
		{"SIGKILL pending", "42 (sh) S 1 42 42 0 -1 4194560" + strings.Repeat(" 0", 21) + " 256 0 0 0", true},
		{"SIGTERM pending", "42 (sh) S 1 42 42 0 -1 4194560" + strings.Repeat(" 0", 21) + " 16384 0 0 0", false},
		{"malformed", "42 sh S 1 42 42 0 -1 4", false},
	} {
		if got := statExiting([]byte(tt.stat)); got != tt.want {
			t.Errorf("%s: statExiting(%q) = %v, want %v", tt.name, tt.stat, got, tt.want)
		}
	}
	if exiting(os.Getpid()) {
		t.Errorf("exiting(self) = true, want false")
	}
}
