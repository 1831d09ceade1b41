package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/internal/testenv"
)

// volumeInfo is the part of `volume inspect` and `volume ls --format
// json` the tests read.
type volumeInfo struct {
	Name       string
	Mountpoint string
	CreatedAt  string
	Containers []struct{ ID, Name string }
}

// volumeEnv is an env with busybox loaded whose volumes go at the end of
// the test (a rootless tier's volume may hold files of subordinate IDs
// that the test user could not remove from the temporary directory).
func volumeEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.loadBusybox()
	t.Cleanup(func() { // t.Context() is cancelled by now
		for _, id := range entries(filepath.Join(e.root, "containers")) {
			_ = e.command(context.Background(), "rm", "-f", id).Run()
		}
		if err := e.command(context.Background(), "volume", "prune", "-f").Run(); err != nil {
			t.Errorf("volume prune -f at the end: %v", err)
		}
	})
	return e
}

func (e *env) volumeNames() []string {
	e.t.Helper()
	return strings.Fields(e.must("volume", "ls", "-q"))
}

func (e *env) inspectVolumes(names ...string) []volumeInfo {
	e.t.Helper()
	var vs []volumeInfo
	out := e.must(append([]string{"volume", "inspect"}, names...)...)
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		e.t.Fatalf("volume inspect: %v\n%s", err, out)
	}
	return vs
}

func TestVolumeDataOutlivesItsContainer(t *testing.T) {
	t.Parallel()
	e := volumeEnv(t)
	e.must("run", "--pull", "never", "--name", "writer", "-v", "data:/data", "busybox", "sh", "-c", "echo kept > /data/f")
	vs := e.inspectVolumes("data")
	if len(vs) != 1 || vs[0].Mountpoint != filepath.Join(e.root, "volumes", "data", "_data") || vs[0].CreatedAt == "" ||
		len(vs[0].Containers) != 1 || vs[0].Containers[0].Name != "writer" {
		t.Fatalf("volume inspect data = %+v: want its directory under the root, a creation time and writer as its user", vs)
	}
	e.must("rm", "writer")
	// Neither rm, the store-level prune nor check takes a volume for garbage.
	e.must("prune")
	e.must("image", "prune")
	e.assertCheckClean()
	e.must("check", "--repair")
	if got := e.volumeNames(); !slices.Equal(got, []string{"data"}) {
		t.Fatalf("after rm of its container, prune and check, volume ls -q = %v: named volumes must stay", got)
	}
	out := e.must("run", "--pull", "never", "--rm", "-v", "data:/data:ro", "busybox", "sh", "-c", "cat /data/f; touch /data/g 2>/dev/null || echo read-only")
	if out != "kept\nread-only\n" {
		t.Fatalf("second container read %q, want the first one's data through a read-only mount", out)
	}
	var ls []volumeInfo
	if err := json.Unmarshal([]byte(e.must("volume", "ls", "--format", "json")), &ls); err != nil || len(ls) != 1 || len(ls[0].Containers) != 0 {
		t.Fatalf("volume ls --format json = %+v, %v: want data, unused", ls, err)
	}
	if out := e.must("volume", "rm", "data"); out != "data\n" {
		t.Fatalf("volume rm printed %q", out)
	}
	if got := e.volumeNames(); len(got) != 0 {
		t.Fatalf("after volume rm: %v", got)
	}
}

func TestVolumeCopiesTheImageContentOnFirstUseOnly(t *testing.T) {
	t.Parallel()
	e := volumeEnv(t)
	e.busyboxWith("seeded:1",
		entry{name: "srv/", dir: true, mode: 0o750, uid: 33, gid: 33},
		entry{name: "srv/conf", body: "from the image\n", uid: 33, gid: 33, mode: 0o640},
		entry{name: "srv/sub/", dir: true},
		entry{name: "srv/sub/deep", body: "deep\n"},
		entry{name: "srv/link", link: "/etc/passwd"})
	t.Cleanup(func() {
		// Its 0750 directory of uid 33 (a subordinate ID, rootless) is
		// closed to the test user: edgerun removes the layer.
		for _, args := range [][]string{{"rmi", "seeded:1"}, {"image", "prune"}} {
			if err := e.command(context.Background(), args...).Run(); err != nil {
				t.Errorf("%v at the end: %v", args, err)
			}
		}
	})
	show := "cat /srv/conf /srv/sub/deep; stat -c '%u:%g %a' /srv /srv/conf; readlink /srv/link"
	out := e.must("run", "--pull", "never", "--rm", "-v", "cfg:/srv", "seeded:1", "sh", "-c", show)
	owner := "33:33"
	if testenv.Rootless() && os.Getenv(testenv.RootlessMappingEnv) == "single" {
		owner = "0:0" // only root is mapped: root owns them, as in the image's layers
	}
	if want := "from the image\ndeep\n" + owner + " 750\n" + owner + " 640\n/etc/passwd\n"; out != want {
		t.Fatalf("new volume holds %q, want the image's /srv with owners, modes and the symlink as given: %q", out, want)
	}
	// Copied on the first mount only: what a container deletes stays deleted.
	e.must("run", "--pull", "never", "--rm", "-v", "cfg:/srv", "seeded:1", "rm", "/srv/conf")
	out = e.must("run", "--pull", "never", "--rm", "-v", "cfg:/srv", "seeded:1", "sh", "-c", "ls /srv")
	if out != "link\nsub\n" {
		t.Fatalf("second mount lists %q: the image's content was copied again", out)
	}
	// A volume made by volume create is filled on its first mount too,
	// and nocopy keeps a new volume empty.
	e.must("volume", "create", "made")
	if out := e.must("run", "--pull", "never", "--rm", "-v", "made:/srv", "seeded:1", "cat", "/srv/conf"); out != "from the image\n" {
		t.Fatalf("a created volume's first mount read %q", out)
	}
	if out := e.must("run", "--pull", "never", "--rm", "--mount", "type=volume,src=bare,dst=/srv,volume-nocopy", "seeded:1", "ls", "-A", "/srv"); out != "" {
		t.Fatalf("nocopy volume holds %q, want nothing", out)
	}
}

func TestVolumeInUseIsNotRemoved(t *testing.T) {
	t.Parallel()
	e := volumeEnv(t)
	e.must("run", "--pull", "never", "--name", "holder", "-v", "busy:/d", "busybox", "touch", "/d/x")
	for _, args := range [][]string{{"volume", "rm", "busy"}, {"volume", "rm", "-f", "busy"}} {
		r := e.run(args...)
		if r.code != 1 || !strings.Contains(r.stderr, "in use") || !strings.Contains(r.stderr, "holder") {
			t.Fatalf("%v of a volume a stopped container uses: %s; want exit 1 naming holder", args, r)
		}
	}
	if out := e.must("volume", "prune", "-f"); strings.Contains(out, "busy") {
		t.Fatalf("prune removed a volume in use: %s", out)
	}
	if got := e.volumeNames(); !slices.Equal(got, []string{"busy"}) {
		t.Fatalf("volume ls -q = %v", got)
	}
	e.must("rm", "holder")
	e.must("volume", "rm", "busy")
	if r := e.run("volume", "rm", "busy"); r.code != 1 || !strings.Contains(r.stderr, "no such volume") {
		t.Fatalf("volume rm of a missing volume: %s; want exit 1, no such volume", r)
	}
	if r := e.run("volume", "rm", "-f", "busy"); r.code != 0 {
		t.Fatalf("volume rm -f of a missing volume: %s; want exit 0 (docker's -f)", r)
	}
}

func TestVolumePruneRemovesOnlyUnusedVolumes(t *testing.T) {
	t.Parallel()
	e := volumeEnv(t)
	e.must("volume", "create", "idle")
	e.must("run", "--pull", "never", "--name", "user", "-v", "used:/d", "busybox", "dd", "if=/dev/zero", "of=/d/blob", "bs=1024", "count=512")
	out := e.must("volume", "prune") // no terminal: no question
	if !strings.Contains(out, "Deleted volume: idle\n") || strings.Contains(out, "used") || !strings.Contains(out, "Total reclaimed space:") {
		t.Fatalf("prune printed %q: want idle removed, used kept, and the space", out)
	}
	if got := e.volumeNames(); !slices.Equal(got, []string{"used"}) {
		t.Fatalf("after prune: %v", got)
	}
	e.must("rm", "user")
	out = e.must("volume", "prune", "-f")
	if !strings.Contains(out, "Deleted volume: used\n") || strings.Contains(out, "Total reclaimed space: 0B") {
		t.Fatalf("prune printed %q: want used removed with its 512 KiB", out)
	}
	if left := entries(filepath.Join(e.root, "volumes")); !slices.Equal(left, []string{".lock"}) {
		t.Fatalf("left in the volumes directory: %v", left)
	}
}

func TestVolumeBadNamesAreRefusedBeforeAnythingIsMade(t *testing.T) {
	t.Parallel()
	e := volumeEnv(t)
	for _, tt := range []struct {
		args      []string
		code      int
		wantInErr string
	}{
		{[]string{"run", "--pull", "never", "--rm", "-v", "a:/d", "busybox", "true"}, 125, "at least two letters"},
		{[]string{"run", "--pull", "never", "--rm", "-v", "-bad:/d", "busybox", "true"}, 125, "starting with a letter or digit"},
		{[]string{"run", "--pull", "never", "--rm", "--mount", "type=volume,src=b@d,dst=/d", "busybox", "true"}, 125, "volume name"},
		{[]string{"run", "--pull", "never", "--rm", "-v", "./no-such-dir:/d", "busybox", "true"}, 125, "no-such-dir: no such file"},
		{[]string{"volume", "create", "x y"}, 1, "starting with a letter or digit"},
		{[]string{"volume", "create", "../escape"}, 1, "volume name"},
	} {
		r := e.run(tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.wantInErr) {
			t.Errorf("%v: %s; want exit %d saying %q", tt.args, r, tt.code, tt.wantInErr)
		}
	}
	if got := e.volumeNames(); len(got) != 0 {
		t.Fatalf("bad names left volumes: %v", got)
	}
	if left := entries(filepath.Join(e.root, "containers")); len(left) != 0 {
		t.Fatalf("bad names left containers: %v", left)
	}
}

// TestVolumeRelativePathsResolveAgainstTheWorkingDirectory: -v ./dir and
// -v dir/sub are bind mounts of paths under edgerun's working directory
// (docker 23+), a bare name stays a named volume.
func TestVolumeRelativePathsResolveAgainstTheWorkingDirectory(t *testing.T) {
	t.Parallel()
	e := volumeEnv(t)
	sub := filepath.Join(e.base, "proj", "dir", "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sub, "f"), "relative\n")
	for _, src := range []string{"./dir/sub", "dir/sub", "../proj/dir/sub"} {
		cmd := e.command(context.Background(), "run", "--pull", "never", "--rm", "-v", src+":/data:ro", "busybox", "cat", "/data/f")
		cmd.Dir = filepath.Join(e.base, "proj")
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != "relative\n" {
			t.Fatalf("-v %s:/data: %v\n%s", src, err, out)
		}
	}
	if got := e.volumeNames(); len(got) != 0 {
		t.Fatalf("relative paths made named volumes: %v", got)
	}
}
