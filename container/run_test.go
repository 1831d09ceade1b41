package container

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/images"
	"github.com/edgerun/edgerun/internal/testenv"
	"github.com/edgerun/edgerun/rootfs"
	"github.com/edgerun/edgerun/specgen"
)

// TestMain answers libcontainer's re-exec of the test binary as a
// container's init, so these tests run real containers.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == InitCommand {
		Init()
	}
	os.Exit(m.Run())
}

// testRuntime opens a runtime in temp dirs with the busybox test image
// loaded, and checks at the end that nothing of any container is left on
// the host: no mount under its roots, no cgroup, no libcontainer state.
func testRuntime(t *testing.T) *Runtime {
	t.Helper()
	testenv.RequireRoot(t, "run containers")
	testImages := testenv.RequireImages(t)
	dir := t.TempDir()
	r, err := Open(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state")})
	if err != nil {
		t.Fatal(err)
	}
	store, err := r.Images()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Load(context.Background(), images.LoadOptions{Input: filepath.Join(testImages, "busybox")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { assertNoContainerLeftovers(t, r) })
	return r
}

func assertNoContainerLeftovers(t *testing.T, r *Runtime) {
	t.Helper()
	recs, _ := r.listRecords()
	for _, rec := range recs {
		removeLeftover(t, r, rec.ID)
	}
	testenv.AssertNoMountsUnder(t, r.cfg.Root)
	testenv.AssertNoMountsUnder(t, r.cfg.State)
	testenv.AssertNoCgroups(t, recIDs(recs)...)
	if ents, _ := os.ReadDir(r.libcontainerRoot()); len(ents) > 0 {
		t.Errorf("libcontainer state left: %v", ents)
	}
	if ents, _ := os.ReadDir(filepath.Join(r.cfg.State, "locks")); len(ents) > 0 {
		t.Errorf("lock files of removed containers left: %v", ents)
	}
}

// removeLeftover force-removes a container a test left; one that is gone
// already (a --rm container that removed itself meanwhile) is fine.
func removeLeftover(t *testing.T, r *Runtime, id string) {
	t.Helper()
	if _, err := r.RemoveContainer(context.Background(), id, true); err != nil && !errors.Is(err, ErrNoSuchContainer) {
		t.Errorf("remove container %s: %v", id, err)
	}
}

func recIDs(recs []*Record) []string {
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	return ids
}

func run(t *testing.T, r *Runtime, opts RunOptions) (int, string, error) {
	t.Helper()
	var out bytes.Buffer
	opts.Image = "busybox"
	opts.Stdout, opts.Stderr = &out, &out
	code, err := r.Run(context.Background(), opts)
	return code, out.String(), err
}

func TestRunWithRemoveReturnsExitCodeAndLeavesNothing(t *testing.T) {
	r := testRuntime(t)
	code, out, err := run(t, r, RunOptions{Remove: true, Spec: specgen.SpecOptions{Args: []string{"sh", "-c", "echo out; exit 3"}}})
	if err != nil || code != 3 || out != "out\n" {
		t.Fatalf("code %d, out %q, err %v; want 3, out", code, out, err)
	}
	ents, _ := os.ReadDir(r.containersDir())
	names, _ := os.ReadDir(r.namesDir())
	if len(ents) != 0 || len(names) != 0 {
		t.Fatalf("--rm left containers %v, names %v", ents, names)
	}
}

func TestRunWithoutRemoveKeepsExitedContainer(t *testing.T) {
	r := testRuntime(t)
	code, _, err := run(t, r, RunOptions{Name: "keeper", Spec: specgen.SpecOptions{Args: []string{"false"}}})
	if err != nil || code != 1 {
		t.Fatalf("code %d, err %v", code, err)
	}
	recs, err := r.Containers(true)
	if err != nil || len(recs) != 1 {
		t.Fatalf("containers %v, %v", recs, err)
	}
	rec := recs[0]
	if rec.Name != "keeper" || rec.State != StateExited || rec.ExitCode != 1 || rec.FinishedAt.IsZero() {
		t.Fatalf("record %+v", rec)
	}
	if ok, _ := rootfs.Mounted(r.containerDir(rec.ID)); ok {
		t.Fatal("an exited container's root file system is still mounted")
	}
	if _, _, err := run(t, r, RunOptions{Name: "keeper", Spec: specgen.SpecOptions{Args: []string{"true"}}}); !errors.Is(err, ErrNameInUse) {
		t.Fatalf("second container named keeper: %v, want ErrNameInUse", err)
	}
	if _, err := r.RemoveContainer(context.Background(), "keeper", false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Inspect("keeper"); !errors.Is(err, ErrNoSuchContainer) {
		t.Fatalf("inspect after rm: %v", err)
	}
}

func TestRunRefusesBadInputBeforeCreatingAnything(t *testing.T) {
	r := testRuntime(t)
	cases := []struct {
		name string
		opts RunOptions
		code int
		msg  string
	}{
		{"missing command", RunOptions{Spec: specgen.SpecOptions{Args: []string{"nosuchcmd"}}}, ExitCommandNotFound, "not found"},
		{"not executable", RunOptions{Spec: specgen.SpecOptions{Args: []string{"/etc/passwd"}}}, ExitCannotInvoke, "permission denied"},
		{"bad name", RunOptions{Name: "-x", Spec: specgen.SpecOptions{Args: []string{"true"}}}, ExitRuntimeFailed, "container name"},
		{"bad memory", RunOptions{Limits: limitsFlags("12q"), Spec: specgen.SpecOptions{Args: []string{"true"}}}, ExitRuntimeFailed, "memory"},
		{"mount onto /proc", RunOptions{Spec: specgen.SpecOptions{Args: []string{"true"}, Volumes: []string{"/tmp:/proc/sys"}}}, ExitRuntimeFailed, "/proc"},
		{"workdir in /proc", RunOptions{Spec: specgen.SpecOptions{Args: []string{"true"}, Workdir: "/proc/self/fd/7"}}, ExitRuntimeFailed, "/proc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, err := run(t, r, tc.opts)
			if code != tc.code || err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("code %d, err %v; want %d and %q", code, err, tc.code, tc.msg)
			}
			ents, _ := os.ReadDir(r.containersDir())
			names, _ := os.ReadDir(r.namesDir())
			if len(ents) != 0 || len(names) != 0 {
				t.Fatalf("refused run left containers %v, names %v", ents, names)
			}
		})
	}
}

func limitsFlags(memory string) cgroups.Flags { return cgroups.Flags{Memory: memory} }

// crashAfterCreate makes a container the way run does and then "dies":
// its locks are dropped without any cleanup, as when edgerun is killed.
func crashAfterCreate(t *testing.T, r *Runtime, dropRecord bool) string {
	t.Helper()
	opts := RunOptions{Image: "busybox", Spec: specgen.SpecOptions{Args: []string{"true"}}}
	c, err := r.create(context.Background(), &opts, false)
	if err != nil {
		t.Fatal(err)
	}
	if dropRecord {
		// Killed before the record was written.
		os.Remove(filepath.Join(r.containerDir(c.rec.ID), recordFile))
	}
	c.lock.Unlock()
	c.owner.Unlock()
	return c.rec.ID
}

func TestNextCommandRemovesHalfMadeContainer(t *testing.T) {
	r := testRuntime(t)
	id := crashAfterCreate(t, r, true)
	if ok, _ := rootfs.Mounted(r.containerDir(id)); !ok {
		t.Fatal("setup: the crashed container's root file system should be mounted")
	}
	r2, err := Open(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(r2.containerDir(id)); !os.IsNotExist(err) {
		t.Fatalf("half-made container dir survives the next command: %v", err)
	}
	if r2.loadLibcontainer(id) != nil {
		t.Fatal("libcontainer state of the half-made container survives")
	}
	if ents, _ := os.ReadDir(r2.namesDir()); len(ents) != 0 {
		// The name claim is stale; the next claim of that name takes it over.
		if err := r2.reserveName(ents[0].Name(), "0000", true); err != nil {
			t.Fatalf("stale name claim blocks the name: %v", err)
		}
		if err := r2.releaseName(ents[0].Name(), "0000", true); err != nil {
			t.Errorf("release the name claim taken over: %v", err)
		}
	}
}

// A --rm container's files are not fsynced: after a power loss its record
// can be empty. The next command removes it like a half-made container.
// A damaged record (empty after a power loss, or corrupt) never costs the
// container's files: the directory is moved aside and reported.
func TestNextCommandQuarantinesContainerWithDamagedRecord(t *testing.T) {
	for name, damage := range map[string][]byte{"empty": {}, "corrupt": []byte(`{"id": "x", "stat`)} {
		t.Run(name, func(t *testing.T) {
			r := testRuntime(t)
			id := crashAfterCreate(t, r, false)
			upper := filepath.Join(r.containerDir(id), "keep-me")
			if err := os.WriteFile(upper, []byte("data"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(r.containerDir(id), recordFile), damage, 0o600); err != nil {
				t.Fatal(err)
			}
			r2, err := Open(r.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(r2.containerDir(id)); !os.IsNotExist(err) {
				t.Fatalf("the damaged container is still among the containers: %v", err)
			}
			if b, err := os.ReadFile(filepath.Join(r2.quarantineDir(), id, "keep-me")); err != nil || string(b) != "data" {
				t.Fatalf("its files were not kept in the quarantine: %q, %v", b, err)
			}
			q, err := r2.Quarantine()
			if err != nil || len(q) != 1 || !strings.Contains(q[0].Reason, "damaged container record") {
				t.Fatalf("quarantine report %+v, %v", q, err)
			}
			if recs, err := r2.Containers(true); err != nil || len(recs) != 0 {
				t.Fatalf("ps -a after cleanup: %v, %v", recIDs(recs), err)
			}
			if err := os.RemoveAll(r2.quarantineDir()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestNextCommandMarksOrphanedCreatedContainerExited(t *testing.T) {
	r := testRuntime(t)
	id := crashAfterCreate(t, r, false)
	r2, err := Open(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r2.Inspect(id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != StateExited {
		t.Fatalf("state %s, want exited: its creator is gone", rec.State)
	}
	if ok, _ := rootfs.Mounted(r2.containerDir(id)); ok {
		t.Fatal("the orphaned container's root file system is still mounted")
	}
	if r2.loadLibcontainer(id) != nil {
		t.Fatal("libcontainer state of the orphaned container survives")
	}
}

// TestCreateLeavesTheOptionsAsGiven holds create to "a request is
// read-only": the spec inputs it works out (ID, rootfs, limits, network
// namespace, host addresses) live in its own plan, not in the caller's
// options.
func TestCreateLeavesTheOptionsAsGiven(t *testing.T) {
	r := testRuntime(t)
	opts := RunOptions{
		Image: "busybox", Limits: limitsFlags("64m"), Net: NetOptions{Mode: NetworkNone},
		Resolv: ResolvFlags{AddHosts: []string{"gw:10.0.0.1"}},
		Spec:   specgen.SpecOptions{Args: []string{"true"}, Env: []string{"A=1"}},
	}
	given := opts
	given.Spec.Args, given.Spec.Env = slices.Clone(opts.Spec.Args), slices.Clone(opts.Spec.Env)
	given.Resolv.AddHosts = slices.Clone(opts.Resolv.AddHosts)
	c, err := r.create(context.Background(), &opts, true)
	if err != nil {
		t.Fatal(err)
	}
	c.lock.Unlock()
	c.owner.Unlock()
	if !reflect.DeepEqual(opts.Spec, given.Spec) || !reflect.DeepEqual(opts.Net, given.Net) ||
		!reflect.DeepEqual(opts.Resolv, given.Resolv) || opts.Limits != given.Limits {
		t.Errorf("create changed its options:\n got %+v\nwant %+v", opts, given)
	}
	if _, err := r.RemoveContainer(context.Background(), c.rec.ID, true); err != nil {
		t.Fatal(err)
	}
}

// TestNextCommandUnmountsStoppedContainerOfAKilledStart: start mounts a
// stopped container's root file system before its monitor takes over;
// killed in between (e2e/reliability's fault point start/before-handover),
// it left the mount for ever, which edgerun check reported after the next
// command. The next command unmounts it and keeps the container.
func TestNextCommandUnmountsStoppedContainerOfAKilledStart(t *testing.T) {
	r := testRuntime(t)
	if _, _, err := run(t, r, RunOptions{Name: "stopped", Spec: specgen.SpecOptions{Args: []string{"true"}}}); err != nil {
		t.Fatal(err)
	}
	rec, err := r.Inspect("stopped")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.mountRootfs(context.Background(), rec); err != nil { // what start does first
		t.Fatal(err)
	}
	if ok, _ := rootfs.Mounted(r.containerDir(rec.ID)); !ok {
		t.Fatal("the test could not mount the root file system")
	}
	r2, err := Open(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := rootfs.Mounted(r2.containerDir(rec.ID)); ok {
		t.Error("the next command left the stopped container's root file system mounted")
	}
	if got, err := r2.Inspect("stopped"); err != nil || got.State != StateExited {
		t.Errorf("the stopped container after the next command: %+v, %v", got, err)
	}
	if _, err := r2.RemoveContainer(context.Background(), "stopped", false); err != nil {
		t.Fatal(err)
	}
}
