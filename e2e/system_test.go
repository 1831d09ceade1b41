package e2e

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	units "github.com/docker/go-units"
)

// dfRow is one line of `system df --format json`, docker's keys.
type dfRow struct {
	Type, TotalCount, Active, Size, Reclaimable string
}

// df returns system df's rows by type.
func (e *env) df() map[string]dfRow {
	e.t.Helper()
	rows := map[string]dfRow{}
	for _, line := range strings.Split(strings.TrimSpace(e.must("system", "df", "--format", "json")), "\n") {
		var r dfRow
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			e.t.Fatalf("system df --format json: %q: %v", line, err)
		}
		rows[r.Type] = r
	}
	return rows
}

// dfImage is a row of `system df -v`'s images, docker's template fields.
type dfImage struct {
	Repository, Tag, Size, SharedSize, UniqueSize, Containers string
}

// bytesOf reads a size df printed ("3.06MB", "12.5kB (40%)").
func bytesOf(t *testing.T, s string) float64 {
	t.Helper()
	s, _, _ = strings.Cut(s, " (")
	n, err := units.FromHumanSize(s)
	if err != nil {
		t.Fatalf("size %q: %v", s, err)
	}
	return float64(n)
}

// imageRefs lists the images as REPOSITORY:TAG, sorted; a dangling
// image is <none>:<none>.
func (e *env) imageRefs() []string {
	e.t.Helper()
	out := strings.Fields(e.must("images", "--format", "{{.Repository}}:{{.Tag}}"))
	slices.Sort(out)
	return out
}

// near says whether a and b agree to within df's three digits.
func near(a, b float64) bool { return math.Abs(a-b) <= 0.01*math.Max(a, b)+1000 }

func TestSystemDfCountsSharedLayersOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	alone := bytesOf(t, e.df()["Images"].Size)
	// app:1 is busybox's layer plus one of 1 MB of its own: the layer's
	// blob and its unpacked files are busybox's, on disk once.
	noise := make([]byte, 1<<20) // does not compress: the blob is 1 MiB too
	if _, err := rand.NewChaCha8([32]byte{1}).Read(noise); err != nil {
		t.Fatal(err)
	}
	e.busyboxWith("app:1", entry{name: "noise.bin", body: string(noise)})
	var doc struct{ Images []dfImage }
	if err := json.Unmarshal([]byte(e.must("system", "df", "-v", "--format", "json")), &doc); err != nil {
		t.Fatal(err)
	}
	byRepo := map[string]dfImage{}
	for _, i := range doc.Images {
		byRepo[i.Repository] = i
	}
	bb, app := byRepo["busybox"], byRepo["app"]
	if bb.Size == "" || app.Size == "" {
		t.Fatalf("system df -v lists %+v, want busybox and app", doc.Images)
	}
	shared := bytesOf(t, app.SharedSize)
	if !near(shared, bytesOf(t, bb.SharedSize)) || !near(shared, alone) {
		t.Errorf("shared size: app %s, busybox %s; want both about busybox's layer (%v bytes)", app.SharedSize, bb.SharedSize, alone)
	}
	if unique := bytesOf(t, app.UniqueSize); !near(unique, 2<<20) {
		t.Errorf("app's unique size %s, want its 1 MiB layer twice (blob and unpacked)", app.UniqueSize)
	}
	rows := e.df()
	total := bytesOf(t, rows["Images"].Size)
	if want := bytesOf(t, bb.Size) + bytesOf(t, app.UniqueSize); !near(total, want) {
		t.Errorf("Images size %s, want busybox's %s plus app's unique %s: the shared layer once", rows["Images"].Size, bb.Size, app.UniqueSize)
	}
	if rows["Images"].TotalCount != "2" || rows["Images"].Active != "0" || !near(bytesOf(t, rows["Images"].Reclaimable), total) {
		t.Errorf("Images row %+v, want 2 images, none in use, all reclaimable", rows["Images"])
	}
	// A stopped container's writable layer and an unused volume are
	// reclaimable; build cache is always empty.
	e.must("run", "--name", "writer", "busybox", "sh", "-c", "head -c 200000 /dev/urandom > /data.bin")
	e.must("run", "--rm", "-v", "vol:/v", "busybox", "sh", "-c", "head -c 50000 /dev/zero > /v/f")
	rows = e.df()
	for typ, want := range map[string]float64{"Containers": 200000, "Local Volumes": 50000} {
		r := rows[typ]
		if r.TotalCount != "1" || r.Active != "0" || !near(bytesOf(t, r.Size), want) || !near(bytesOf(t, r.Reclaimable), want) {
			t.Errorf("%s row %+v, want one, inactive, %v bytes, all reclaimable", typ, r, want)
		}
	}
	if r := rows["Build Cache"]; r.TotalCount != "0" || r.Size != "0B" {
		t.Errorf("Build Cache row %+v, want empty", r)
	}
	if rows["Images"].Active != "1" {
		t.Errorf("Images row %+v, want busybox in use by writer", rows["Images"])
	}
	out := e.must("system", "df")
	for _, want := range []string{"TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE", "Images", "Containers", "Local Volumes", "Build Cache"} {
		if !strings.Contains(out, want) {
			t.Errorf("system df prints\n%s\nwithout %q", out, want)
		}
	}
	e.must("rm", "writer")
	e.must("volume", "rm", "vol")
}

func TestSystemPruneRemovesStoppedContainersAndDanglingImages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.busyboxWith("app:1", entry{name: "app.txt", body: "v1"})
	e.must("tag", "busybox", "app:1") // the first app:1 is now dangling, <none>
	e.must("run", "--name", "old", "busybox", "true")
	live := e.runD("--name", "live", "busybox", "sleep", "300")
	e.must("volume", "create", "keep")
	oldID := e.inspect("old").ID

	// docker asks; an input that ends before an answer is a no.
	r := e.runIn([]byte{}, "system", "prune")
	if r.code != 0 || !strings.Contains(r.stderr, "Are you sure you want to continue? [y/N]") || !strings.Contains(r.stderr, "nothing removed") {
		t.Fatalf("system prune without an answer: %s", r)
	}
	if e.run("inspect", "old").code != 0 || !slices.Contains(e.imageRefs(), "<none>:<none>") {
		t.Fatal("system prune removed something without a yes")
	}

	r = e.runIn([]byte("y\n"), "system", "prune")
	if r.code != 0 {
		t.Fatalf("system prune, answered y: %s", r)
	}
	for _, want := range []string{"Deleted Containers:\n" + oldID, "Deleted Images:", "deleted: sha256:", "Total reclaimed space: "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("system prune printed\n%s\nwithout %q", r.stdout, want)
		}
	}
	if strings.Contains(r.stdout, "Total reclaimed space: 0B") {
		t.Errorf("system prune freed nothing: %s", r.stdout)
	}
	if e.run("inspect", "old").code == 0 {
		t.Error("the stopped container is still there")
	}
	if e.inspect("live").State != "running" {
		t.Error("the running container was touched")
	}
	if got, want := e.imageRefs(), []string{"app:1", "busybox:latest"}; !slices.Equal(got, want) {
		t.Errorf("images after system prune: %v, want %v (only the dangling one gone)", got, want)
	}
	if got := e.volumeNames(); !slices.Equal(got, []string{"keep"}) {
		t.Errorf("volumes after system prune without --volumes: %v, want keep", got)
	}
	e.must("rm", "-f", live)
	e.must("system", "prune", "-f", "--volumes")
	if got := e.volumeNames(); len(got) != 0 {
		t.Errorf("volumes after system prune --volumes: %v, want none", got)
	}
	// -a: every image no container uses, here only those the filter takes.
	e.must("system", "prune", "-a", "-f", "--filter", "label=nosuch")
	if got := e.imageRefs(); len(got) != 2 {
		t.Errorf("images after system prune -a --filter label=nosuch: %v, want both kept", got)
	}
	e.must("system", "prune", "-a", "-f")
	if got := e.imageRefs(); len(got) != 0 {
		t.Errorf("images after system prune -a: %v, want none", got)
	}
}

func TestContainerPruneKeepsRunningOnes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	live := e.runD("--name", "live", "busybox", "sleep", "300")
	e.must("run", "--name", "done", "busybox", "true")
	e.must("run", "--name", "kept", "-l", "keep=yes", "busybox", "true")
	e.must("create", "--name", "made", "busybox", "true")

	// Without -f docker's question, and an input that ends is a no.
	r := e.runIn([]byte{}, "container", "prune")
	if want := "WARNING! This will remove all stopped containers. Are you sure you want to continue? [y/N]"; r.code != 0 || !strings.Contains(strings.Join(strings.Fields(r.stderr), " "), want) {
		t.Fatalf("container prune without -f: %s, want the question %q", r, want)
	}
	r = e.run("container", "prune", "-f", "--filter", "label!=keep")
	if r.code != 0 || !strings.Contains(r.stdout, "Deleted Containers:") || !strings.Contains(r.stdout, "Total reclaimed space: ") {
		t.Fatalf("container prune: %s", r)
	}
	for name, want := range map[string]bool{"live": true, "done": false, "made": false, "kept": true} {
		if got := e.run("inspect", name).code == 0; got != want {
			t.Errorf("after container prune --filter label!=keep: %s there %v, want %v", name, got, want)
		}
	}
	// edgerun's own prune never asks, and also keeps running ones.
	kept := e.inspect("kept").ID
	if out := e.must("prune"); !strings.Contains(out, kept) {
		t.Errorf("prune printed %q, want kept's ID", out)
	}
	if e.inspect("live").State != "running" || e.run("inspect", "kept").code == 0 {
		t.Error("prune: want live running and kept gone")
	}
	e.must("rm", "-f", live)
}

func TestImagePruneAllKeepsImagesInUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.busyboxWith("app:1", entry{name: "app.txt", body: "v1"})
	e.busyboxWith("app:2", entry{name: "app.txt", body: "v2"})
	e.must("tag", "app:1", "app:2") // the first app:2 is now dangling
	e.must("run", "--name", "user", "busybox", "true")

	// Without a terminal image prune does not ask (scripts call it so);
	// without -a it removes the dangling image only.
	out := e.must("image", "prune")
	if !strings.Contains(out, "deleted: sha256:") || strings.Contains(out, "untagged:") {
		t.Errorf("image prune printed\n%s\nwant the dangling image deleted, nothing untagged", out)
	}
	want := []string{"app:1", "app:2", "busybox:latest"}
	if got := e.imageRefs(); !slices.Equal(got, want) {
		t.Fatalf("images after image prune: %v, want %v", got, want)
	}
	// until: these images came a moment ago.
	e.must("image", "prune", "-a", "-f", "--filter", "until=1h")
	if got := e.imageRefs(); !slices.Equal(got, want) {
		t.Fatalf("images after image prune -a --filter until=1h: %v, want %v", got, want)
	}
	out = e.must("image", "prune", "-a", "-f")
	if !strings.Contains(out, "untagged: app:1") || !strings.Contains(out, "untagged: app:2") || strings.Contains(out, "Total reclaimed space: 0B") {
		t.Errorf("image prune -a printed\n%s\nwant app untagged and space reclaimed", out)
	}
	if got := e.imageRefs(); !slices.Equal(got, []string{"busybox:latest"}) {
		t.Errorf("images after image prune -a: %v, want busybox only (user uses it)", got)
	}
	e.must("start", "-a", "user") // its image and layers are all there
	e.must("rm", "user")
	e.must("image", "prune", "-a", "-f")
	if got := e.imageRefs(); len(got) != 0 {
		t.Errorf("images after the last container went: %v, want none", got)
	}
}
