package e2e

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/edgerun/edgerun/internal/testenv"
)

// imageNames lists `images --format json`, names normalised as docker does.
func (e *env) imageNames() []string {
	e.t.Helper()
	var imgs []struct {
		Name string `json:"name"`
	}
	out := e.must("images", "--format", "json")
	if err := json.Unmarshal([]byte(out), &imgs); err != nil {
		e.t.Fatalf("images --format json: %v\n%s", err, out)
	}
	names := []string{}
	for _, im := range imgs {
		names = append(names, normalise(e.t, im.Name))
	}
	sort.Strings(names)
	return names
}

func normalise(t *testing.T, ref string) string {
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatalf("image name %q: %v", ref, err)
	}
	return r.Name()
}

// tool runs an outside tool, skipping when it is not installed.
func tool(t *testing.T, dir string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(args[0]); err != nil {
		t.Skipf("%s is not installed (make deps installs it)", args[0])
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// umociLayout makes an OCI layout with umoci: an image "app" with one file.
func umociLayout(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tool(t, dir, "umoci", "init", "--layout", "lay")
	tool(t, dir, "umoci", "new", "--image", "lay:app")
	tool(t, dir, "umoci", "insert", "--image", "lay:app", "hello", "/hello")
	return filepath.Join(dir, "lay")
}

func TestLoadFilesMadeByUmociAndSkopeo(t *testing.T) {
	t.Parallel()
	lay := umociLayout(t)
	work := filepath.Dir(lay)
	tool(t, work, "skopeo", "copy", "oci:lay:app", "oci-archive:"+filepath.Join(work, "oci.tar")+":app:v1")
	tool(t, work, "skopeo", "copy", "oci:lay:app", "docker-archive:"+filepath.Join(work, "docker.tar")+":myapp:v2")
	for _, tc := range []struct {
		name, input string
		stdin       bool
		extra       []string
		want        []string
	}{
		{"umoci layout", lay, false, nil, []string{"index.docker.io/library/app:latest"}},
		{"umoci layout with --name", lay, false, []string{"--name", "gw/app:7"}, []string{"index.docker.io/gw/app:7"}},
		{"skopeo oci-archive", filepath.Join(work, "oci.tar"), false, nil, []string{"index.docker.io/library/app:v1"}},
		{"skopeo docker-archive", filepath.Join(work, "docker.tar"), false, nil, []string{"index.docker.io/library/myapp:v2"}},
		{"skopeo oci-archive from stdin", filepath.Join(work, "oci.tar"), true, nil, []string{"index.docker.io/library/app:v1"}},
		{"skopeo docker-archive from stdin", filepath.Join(work, "docker.tar"), true, nil, []string{"index.docker.io/library/myapp:v2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var r result
			if tc.stdin {
				b, err := os.ReadFile(tc.input)
				if err != nil {
					t.Fatal(err)
				}
				r = e.runIn(b, append([]string{"load", "-i", "-"}, tc.extra...)...)
			} else {
				r = e.run(append([]string{"load", "-i", tc.input}, tc.extra...)...)
			}
			if r.code != 0 {
				t.Fatalf("load: %s", r)
			}
			got := e.imageNames()
			for _, w := range tc.want {
				if !contains(got, normalise(t, w)) {
					t.Errorf("images lists %v, want %s", got, w)
				}
			}
		})
	}
}

func TestImageLoadedFromSkopeoDockerArchiveOnStdinRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	work := t.TempDir()
	archive := filepath.Join(work, "bb.tar")
	tool(t, work, "skopeo", "copy", "oci:"+imagePath(t, "busybox")+":busybox:latest", "docker-archive:"+archive+":bb:copied")
	b, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.runIn(b, "load", "-i", "-"); r.code != 0 {
		t.Fatalf("load -i - : %s", r)
	}
	if out := e.must("run", "--rm", "bb:copied", "echo", "copied-ok"); strings.TrimSpace(out) != "copied-ok" {
		t.Errorf("run of the loaded image printed %q", out)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestLoadRefusesLayerEscapingWithDotDot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	outside := t.TempDir()
	up := strings.Repeat("../", 30)
	img, err := mutate.AppendLayers(busyboxImage(t), layerOf(t,
		entry{name: "ok", body: "fine"},
		entry{name: "../escaped-rel", body: "pwned"},
		entry{name: up + strings.TrimPrefix(outside, "/") + "/escaped-abs", body: "pwned"},
	))
	if err != nil {
		t.Fatal(err)
	}
	lay := writeLayout(t, img, "evil:latest")
	archive := filepath.Join(t.TempDir(), "evil.tar")
	tarDir(t, lay, archive)
	for _, input := range []string{lay, archive} {
		r := e.run("load", "-i", input)
		if r.code == 0 {
			t.Errorf("load -i %s of a layer with ../ entries succeeded: %s", input, r)
		}
		t.Logf("load -i %s: %s", filepath.Base(input), strings.TrimSpace(r.stderr))
		if !strings.Contains(r.stderr, "..") && !strings.Contains(strings.ToLower(r.stderr), "outside") {
			t.Errorf("load error does not say what is wrong: %q", r.stderr)
		}
	}
	if got := e.imageNames(); len(got) != 0 {
		t.Errorf("images after refused loads: %v", got)
	}
	if left := entries(outside); len(left) > 0 {
		t.Errorf("the layer wrote outside the store: %s: %v", outside, left)
	}
	_ = filepath.WalkDir(filepath.Dir(e.base), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), "escaped-") {
			t.Errorf("escaped entry written at %s", p)
		}
		return nil
	})
}

// tarDir writes the files under dir into a tar archive (an OCI archive
// when dir is an OCI layout).
func tarDir(t *testing.T, dir, archive string) {
	t.Helper()
	f, err := os.Create(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testenv.TarDir(f, dir); err != nil {
		t.Fatal(err)
	}
}

func TestRmiOfImageUsedByStoppedContainerNeedsForceAndPruneFreesIt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("run", "--name", "user", "busybox", "true")
	r := e.run("rmi", "busybox")
	if r.code == 0 || !strings.Contains(r.stderr, "user") {
		t.Errorf("rmi of an image a container uses: want refusal naming the container, got %s", r)
	}
	if got := e.imageNames(); len(got) != 1 {
		t.Fatalf("after the refused rmi images lists %v", got)
	}
	e.must("rmi", "-f", "busybox")
	if got := e.imageNames(); len(got) != 0 {
		t.Errorf("after rmi -f images lists %v", got)
	}
	blobs, layers := filepath.Join(e.root, "blobs", "sha256"), filepath.Join(e.root, "layers", "sha256")
	e.must("image", "prune")
	if len(entries(layers)) == 0 {
		t.Errorf("image prune removed the layers of existing container user")
	}
	e.must("rm", "user")
	e.must("image", "prune")
	if left := entries(blobs); len(left) > 0 {
		t.Errorf("blobs left after rmi and prune: %v", left)
	}
	if left := entries(layers); len(left) > 0 {
		t.Errorf("layers left after rm, rmi and prune: %v", left)
	}
}
