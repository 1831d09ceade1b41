package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerun/edgerun/internal/testenv"
)

// Liveness is the kernel's answer (issue 12): a state directory that is
// shared, swapped or wiped must never make a live container look dead.

func TestStateDirectoryOfAnotherRootIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	other := &env{t: t, bin: e.bin, base: e.base, root: filepath.Join(e.base, "root2"), state: e.state, ids: map[string]bool{}}
	r := other.run("ps", "-a")
	if r.code == 0 || !strings.Contains(r.stderr, "belongs to root "+e.root) || !strings.Contains(r.stderr, "--state") {
		t.Fatalf("a second root on the same --state: %s\nwant a refusal naming the owner root and suggesting --state", r)
	}
	if _, err := os.Stat(other.root); err == nil {
		t.Errorf("the refused command created %s", other.root)
	}
	e.must("ps", "-a") // the owner root still works
}

func TestSecondStateDirectoryForARootIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "svc", "--restart", "always", "busybox", "sleep", "1000")
	other := &env{t: t, bin: e.bin, base: e.base, root: e.root, state: filepath.Join(e.base, "state2"), ids: map[string]bool{}}
	r := other.run("ps", "-a")
	if r.code == 0 || !strings.Contains(r.stderr, "use --state "+e.state) {
		t.Fatalf("the root with another --state while its own exists: %s\nwant a refusal naming its state directory", r)
	}
	if got := e.inspectLife("svc"); got.State != "running" || !alive(got.Pid) || !alive(got.MonitorPid) {
		t.Errorf("the refused command touched the container: %+v", got)
	}
	e.must("rm", "-f", "svc")
}

func TestWipedStateDoesNotMakeLiveContainersDead(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, "with --state wiped, liveness comes from the container's cgroup")
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "svc", "--restart", "always", "busybox", "sleep", "1000")
	e.runD("--name", "other", "busybox", "sleep", "1000")
	before := e.inspectLife("svc")
	// /run wiped while containers run: locks, libcontainer state and the
	// netns mounts of this state directory are gone; the processes are not.
	unmountUnder(e.state)
	if err := os.RemoveAll(e.state); err != nil {
		t.Fatal(err)
	}
	ps := e.must("ps", "-a")
	got := e.inspectLife("svc")
	if got.State != "running" || got.MonitorLost || got.Pid != before.Pid || got.MonitorPid != before.MonitorPid {
		t.Fatalf("after the state was wiped: %+v (ps -a:\n%s)\nwant the same running container and monitor", got, ps)
	}
	if !alive(before.Pid) || !alive(before.MonitorPid) {
		t.Fatalf("a read killed the container (%v) or its monitor (%v)", alive(before.Pid), alive(before.MonitorPid))
	}
	// Stopping works without the lost state: by the cgroup, and the
	// monitor (still the kernel's live process) records the exit.
	e.must("stop", "-t", "1", "svc")
	got = e.waitFor("svc", "exited", func(r lifeRecord) bool { return r.State == "exited" })
	if alive(before.Pid) || !got.StoppedByUser {
		t.Errorf("after stop: %+v, process %d alive %v", got, before.Pid, alive(before.Pid))
	}
	// rm -f of the other one leaves no monitor, process or cgroup.
	o := e.inspectLife("other")
	e.must("rm", "-f", "other")
	deadline := time.Now().Add(cmdTimeout)
	for (alive(o.Pid) || alive(o.MonitorPid)) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(o.Pid) || alive(o.MonitorPid) {
		t.Errorf("rm -f left the container (%v) or its monitor (%v) running", alive(o.Pid), alive(o.MonitorPid))
	}
	testenv.AssertNoCgroups(t, o.ID)
	e.must("rm", "-f", "svc")
}

// TestDamagedRecordIsQuarantinedNotDeleted: a 0-byte record.json of a kept,
// stopped container used to make the next ps -a delete the container with
// its writable layer, silently.
func TestDamagedRecordIsQuarantinedNotDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("run", "--name", "keep", "busybox", "sh", "-c", "echo precious > /data")
	id := e.inspect("keep").ID
	if err := os.Truncate(filepath.Join(e.root, "containers", id, "record.json"), 0); err != nil {
		t.Fatal(err)
	}
	r := e.run("ps", "-a")
	if r.code != 0 || !strings.Contains(r.stderr, "quarantined") || !strings.Contains(r.stderr, id) {
		t.Fatalf("ps -a with a damaged record: %s\nwant it listed as quarantined on stderr", r)
	}
	b, err := os.ReadFile(filepath.Join(e.root, "quarantine", id, "upper", "data"))
	if err != nil || string(b) != "precious\n" {
		t.Fatalf("the container's writable layer was not kept: %q, %v", b, err)
	}
	if err := os.RemoveAll(filepath.Join(e.root, "quarantine")); err != nil {
		t.Fatal(err)
	}
	e.must("ps", "-a") // its name claim, leases and the like are reclaimed
	if left := entries(filepath.Join(e.root, "names")); len(left) != 0 {
		t.Errorf("the quarantined container's name claim is left: %v", left)
	}
}

// TestFailedRestartIsRetriedByPolicy: a restart that cannot start (here its
// command is gone from the container's file system) used to leave an
// --restart always container exited for good; it is retried with the
// policy's backoff, and the error is shown.
func TestFailedRestartIsRetriedByPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "flaky", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2; rm /bin/sh")
	got := e.waitFor("flaky", "failed restarts retried", func(r lifeRecord) bool {
		return r.RestartCount >= 3 && r.Error != ""
	})
	if !alive(got.MonitorPid) || (got.State != "restarting" && got.State != "running") {
		t.Errorf("after failed restarts: %+v, want its monitor retrying", got)
	}
	if !strings.Contains(got.Error, "sh") {
		t.Errorf("the error %q does not say what failed", got.Error)
	}
	e.must("rm", "-f", "flaky")
}

// TestCorruptImageIndexIsRecovered: a corrupt images.json blocked every
// run; the copy before its last change is restored, the damaged one kept
// in the quarantine, and the user told.
func TestCorruptImageIndexIsRecovered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("load", "-i", imagePath(t, "sensor")) // busybox is in the copy before this change
	if err := os.WriteFile(filepath.Join(e.root, "images.json"), []byte("{\"version\": 1, \"images\": {\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.run("run", "--rm", "--pull", "never", "busybox", "true")
	if r.code != 0 || !strings.Contains(r.stderr, "recovered from the previous copy") {
		t.Fatalf("run with a corrupt image index: %s\nwant it to run, with a note that the index was recovered from the previous copy", r)
	}
	if aside, _ := filepath.Glob(filepath.Join(e.root, "quarantine", "images.json-*[0-9]")); len(aside) != 1 {
		t.Errorf("the damaged index was not kept in the quarantine: %v", aside)
	}
}

// TestCorruptImageIndexWithoutPreviousCopyIsRebuilt: with no usable
// previous copy either, the index is rebuilt from the blobs; the images
// come back by ID, the user is told that their names were lost and how to
// give them back (edgerun tag), and then they run.
func TestCorruptImageIndexWithoutPreviousCopyIsRebuilt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("load", "-i", imagePath(t, "sensor"))
	if err := os.WriteFile(filepath.Join(e.root, "images.json"), []byte("{\"version\": 1, \"images\": {\x00"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(e.root, "images.json.prev")); err != nil {
		t.Fatal(err)
	}
	r := e.run("images", "--format", "json")
	for _, want := range []string{"rebuilt it from the", "2 images", "names lost for 2", "edgerun tag"} {
		if r.code != 0 || !strings.Contains(r.stderr, want) {
			t.Fatalf("images with a corrupt index and no previous copy: %s\nwant a note saying %q", r, want)
		}
	}
	var imgs []struct {
		Name   string `json:"name"`
		Digest string `json:"digest"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &imgs); err != nil || len(imgs) != 2 || imgs[0].Name != "<none>" || imgs[1].Name != "<none>" {
		t.Fatalf("images after the rebuild: %s (%v), want two <none>", r.stdout, err)
	}
	if aside, _ := filepath.Glob(filepath.Join(e.root, "quarantine", "images.json-*[0-9]")); len(aside) != 1 {
		t.Errorf("the damaged index was not kept in the quarantine: %v", aside)
	}
	// Nameless after a rebuild is not dangling: image prune keeps them
	// for edgerun tag (-a would remove them).
	e.must("image", "prune")
	if got := e.imageRefs(); len(got) != 2 {
		t.Fatalf("image prune after the rebuild left %v, want the two images", got)
	}
	if r := e.run("run", "--rm", "--pull", "never", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "not in the store") {
		t.Fatalf("run by a lost name: %s", r)
	}
	bb, err := busyboxImage(t).Digest()
	if err != nil {
		t.Fatal(err)
	}
	e.must("tag", bb.Hex[:12], "busybox")
	e.must("run", "--rm", "--pull", "never", "busybox", "true")
	if r := e.run("check"); r.code != 0 {
		t.Errorf("check after the rebuild: %s", r)
	}
}
