package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/internal/testenv"
)

// `edgerun check` against stores damaged by hand: each damage is reported
// (exit 1, nothing changed), repaired by --repair (exit 0), and the store
// works afterwards.

// finding is one line of `check --format json`.
type finding struct {
	Kind     string `json:"kind"`
	Where    string `json:"where"`
	Problem  string `json:"problem"`
	Repair   string `json:"repair"`
	Repaired bool   `json:"repaired"`
	Error    string `json:"error"`
}

// check runs edgerun check --format json with args and returns its exit
// code and findings.
func (e *env) check(args ...string) (int, []finding) {
	e.t.Helper()
	r := e.run(append([]string{"check", "--format", "json"}, args...)...)
	var found []finding
	if err := json.Unmarshal([]byte(r.stdout), &found); err != nil || found == nil {
		e.t.Fatalf("check %v: want a JSON array: %v\n%s", args, err, r)
	}
	return r.code, found
}

// foreign says whether a finding is another edgerun's business: the
// host's cgroups are shared with every other root (and with concurrent
// tests, whose hand-made orphans live for a moment).
func (e *env) foreign(f finding) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return f.Kind == "cgroup-orphan" && !e.ids[filepath.Base(f.Where)]
}

// assertCheckClean checks that the store is clean: check exits 0 and
// says "nothing to repair", and its JSON is an empty array. Orphaned
// cgroups of other roots may come and go on a shared host meanwhile: it
// tries again while only those show.
func (e *env) assertCheckClean() {
	e.t.Helper()
	for try := 0; ; try++ {
		table := e.run("check")
		code, found := e.check()
		if table.code == 0 && strings.TrimSpace(table.stdout) == "nothing to repair" && code == 0 && len(found) == 0 {
			return
		}
		if slices.ContainsFunc(found, func(f finding) bool { return !e.foreign(f) }) || try == 20 {
			e.t.Fatalf("check of a clean store: %s\nJSON: exit %d, %+v", table, code, found)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func kindsOf(found []finding) []string {
	var out []string
	for _, f := range found {
		out = append(out, f.Kind)
	}
	return out
}

// findingOf returns the finding of kind about where, or fails.
func findingOf(t *testing.T, found []finding, kind, where string) finding {
	t.Helper()
	for _, f := range found {
		if f.Kind == kind && strings.Contains(f.Where, where) {
			return f
		}
	}
	t.Fatalf("no %s finding about %s in %+v", kind, where, found)
	return finding{}
}

func TestCheckOfCleanStoreFindsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.assertCheckClean() // a root that does not exist yet
	if _, err := os.Stat(e.root); !os.IsNotExist(err) {
		t.Fatalf("check without --repair created %s: %v", e.root, err)
	}
	e.loadBusybox()
	e.must("run", "--name", "kept", "busybox", "true")
	e.runD("--name", "svc", "busybox", "sleep", "1000")
	e.assertCheckClean()
	if r := e.run("check", "--repair"); r.code != 0 {
		t.Errorf("check --repair of a clean store: %s", r)
	}
	if got := e.inspect("svc"); got.State != "running" {
		t.Errorf("check touched a running container: %+v", got)
	}
	e.must("rm", "-f", "svc", "kept")
}

// largestBlob is the path of the biggest blob of the store: busybox's layer.
func (e *env) largestBlob() string {
	e.t.Helper()
	dir := filepath.Join(e.root, "blobs", "sha256")
	var best string
	var size int64 = -1
	for _, n := range entries(dir) {
		if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && fi.Size() > size {
			best, size = filepath.Join(dir, n), fi.Size()
		}
	}
	if best == "" {
		e.t.Fatalf("no blobs in %s", dir)
	}
	return best
}

func flipByte(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCheckQuarantinesCorruptBlobAndItsImage: a blob whose content no
// longer matches its digest is found by re-hashing (not by --quick), moved
// to the quarantine by --repair, and the image that needs it leaves the
// index: `images` no longer lists it (as docker users expect of an image
// they cannot run), and loading it again brings it back.
func TestCheckQuarantinesCorruptBlobAndItsImage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	blob := e.largestBlob()
	flipByte(t, blob)
	if _, found := e.check("--quick"); slices.Contains(kindsOf(found), "blob-corrupt") {
		t.Errorf("check --quick re-hashed the blobs: %+v", found)
	}
	code, found := e.check()
	f := findingOf(t, found, "blob-corrupt", blob)
	img := findingOf(t, found, "image-broken", "busybox")
	if code != 1 || f.Repaired || !strings.Contains(f.Problem, "hashes to") || !strings.Contains(img.Problem, filepath.Base(blob)) {
		t.Fatalf("check: exit %d, findings %+v; want exit 1, the blob and its image", code, found)
	}
	if _, err := os.Stat(blob); err != nil {
		t.Fatalf("check without --repair moved the blob: %v", err)
	}
	r := e.run("check", "--repair")
	if r.code != 0 || !strings.Contains(r.stdout, "blob-corrupt") || !strings.Contains(r.stdout, "repaired") {
		t.Fatalf("check --repair: %s", r)
	}
	if _, err := os.Stat(filepath.Join(e.root, "quarantine", "blobs", filepath.Base(blob))); err != nil {
		t.Errorf("the corrupt blob is not in the quarantine: %v", err)
	}
	if out := e.must("images"); strings.Contains(out, "busybox") {
		t.Errorf("images lists the broken image:\n%s", out)
	}
	if r := e.run("run", "--rm", "--pull", "never", "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "load it") {
		t.Errorf("run of the broken image: %s\nwant exit 125 saying to load it again", r)
	}
	if r := e.run("ps", "-a"); strings.Contains(r.stderr, "quarantine/blobs") {
		t.Errorf("ps reports the quarantined blob as a container: %s", r)
	}
	e.assertCheckClean()
	e.loadBusybox()
	e.must("run", "--rm", "busybox", "true")
	e.assertCheckClean()
}

// TestCheckRepairsLayerWithoutCompleteMarker: an unpacked layer without
// its marker is damaged; the container using it gets it back, unpacked
// again from its image, and the damaged copy is moved aside.
func TestCheckRepairsLayerWithoutCompleteMarker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("run", "--name", "kept", "busybox", "sh", "-c", "echo data > /data")
	markers, _ := filepath.Glob(filepath.Join(e.root, "layers", "sha256", "*", "complete"))
	if len(markers) != 1 {
		t.Fatalf("layer markers %v, want busybox's one", markers)
	}
	if err := os.Remove(markers[0]); err != nil {
		t.Fatal(err)
	}
	layer := filepath.Dir(markers[0])
	code, found := e.check()
	findingOf(t, found, "layer-incomplete", layer)
	findingOf(t, found, "container-layers-missing", filepath.Join(e.root, "containers"))
	if code != 1 {
		t.Fatalf("check: exit %d, want 1", code)
	}
	code, found = e.check("--repair")
	if code != 0 {
		t.Fatalf("check --repair: exit %d, %+v", code, found)
	}
	if _, err := os.Stat(markers[0]); err != nil {
		t.Errorf("the layer was not unpacked again: %v", err)
	}
	moved, _ := filepath.Glob(filepath.Join(e.root, "quarantine", "layers", "sha256-"+filepath.Base(layer), "rootfs", "bin"))
	if len(moved) != 1 {
		t.Errorf("the damaged layer was not moved aside whole")
	}
	e.assertCheckClean()
	if out := e.must("run", "--rm", "busybox", "echo", "ok"); strings.TrimSpace(out) != "ok" {
		t.Errorf("run after the repair: %q", out)
	}
	e.must("rm", "kept")
}

// TestCheckRemovesOrphanedCgroup: a cgroup of no container (a run killed
// between making it and recording the container), empty and older than a
// minute, is found on every hierarchy and removed.
func TestCheckRemovesOrphanedCgroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(b)
	e.noteID(id)
	e.must("ps") // makes the root
	var dirs []string
	// Any edgerun's cleanup removes it too (that is right): make it again
	// until check has seen it.
	for try := 0; ; try++ {
		dirs = nil
		for _, root := range cgroups.Mounted().Roots() {
			// Rootless, edgerun's cgroups are below the user's delegated one.
			d := filepath.Join(root, testenv.Delegation(), "edgerun", id)
			if err := os.MkdirAll(d, 0o755); err != nil {
				continue // a hierarchy without room for us (read-only, or a controller's rule)
			}
			old := time.Now().Add(-2 * time.Minute)
			if err := os.Chtimes(d, old, old); err != nil {
				t.Fatal(err)
			}
			dirs = append(dirs, d)
		}
		if len(dirs) == 0 {
			t.Skip("no cgroup hierarchy takes a cgroup here")
		}
		code, found := e.check("--quick")
		seen := 0
		for _, f := range found {
			if f.Kind == "cgroup-orphan" && filepath.Base(f.Where) == id {
				seen++
			}
		}
		if seen == len(dirs) && code == 1 {
			break
		}
		if try == 5 {
			t.Fatalf("check: exit %d, %d of %d cgroups reported: %+v", code, seen, len(dirs), found)
		}
	}
	if code, found := e.check("--repair"); code != 0 {
		t.Fatalf("check --repair: exit %d, %+v", code, found)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("the orphaned cgroup %s is left: %v", d, err)
		}
	}
}

// TestCheckReclaimsStaleLeaseAndIngestLeftovers: an address lease of a
// container that is gone, the temp file of a killed load and a partial
// download older than the ingest max age are leftovers; a young partial
// download is kept for a pull to resume.
func TestCheckReclaimsStaleLeaseAndIngestLeftovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	lease := filepath.Join(e.root, "network", "edgerun0", "leases", "10.90.0.77")
	writeFile(t, lease, strings.Repeat("ab", 32)+"\n")
	tmp := filepath.Join(e.root, "ingest", "tmp-123456")
	writeFile(t, tmp, "half a blob")
	old := filepath.Join(e.root, "ingest", strings.Repeat("1", 64))
	young := filepath.Join(e.root, "ingest", strings.Repeat("2", 64))
	writeFile(t, old, "a partial download")
	writeFile(t, young, "a partial download")
	if err := os.Chtimes(old, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	code, found := e.check("--quick")
	findingOf(t, found, "lease-stale", lease)
	findingOf(t, found, "ingest-leftover", tmp)
	findingOf(t, found, "ingest-leftover", old)
	for _, f := range found {
		if f.Where == young {
			t.Errorf("a young partial download is reported: %+v", f)
		}
	}
	if code != 1 {
		t.Fatalf("check: exit %d, want 1", code)
	}
	r := e.run("check", "--repair")
	if r.code != 0 || !strings.Contains(r.stdout, "repaired") {
		t.Fatalf("check --repair: %s", r)
	}
	for _, p := range []string{lease, tmp, old} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is left: %v", p, err)
		}
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("the young partial download was removed: %v", err)
	}
	e.assertCheckClean()
}

// TestBootRunsQuickCheckWithRepair: boot repairs what the quick check
// finds before it starts anything and says so on stderr; it does not
// re-hash the blobs (a full check still finds a corrupt one), and a
// broken image does not keep a container from starting.
func TestBootRunsQuickCheckWithRepair(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "svc", "--restart", "always", "busybox", "sleep", "1000")
	e.must("stop", "-t", "1", "svc")
	// What the cleanup every command runs first does not touch.
	leftover := filepath.Join(e.root, "ingest", "tmp-654321")
	writeFile(t, leftover, "half a blob")
	blob := e.largestBlob()
	flipByte(t, blob)
	r := e.run("boot")
	if r.code != 0 || !strings.Contains(r.stderr, "ingest-leftover "+leftover) || !strings.Contains(r.stderr, "repaired") ||
		strings.Contains(r.stderr, "blob-corrupt") || !strings.Contains(r.stdout, "started svc") {
		e.run("rm", "-f", "svc")
		t.Fatalf("boot: %s\nwant the ingest leftover repaired on stderr, no re-hash, svc started", r)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("boot left the ingest leftover: %v", err)
	}
	if code, found := e.check(); code != 1 || !slices.Contains(kindsOf(found), "blob-corrupt") {
		t.Errorf("a full check after boot: exit %d, %+v; want the corrupt blob", code, found)
	}
	e.must("rm", "-f", "svc")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
