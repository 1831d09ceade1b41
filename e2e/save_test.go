package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/internal/testenv"
)

// imageID is busybox's ID (manifest digest) in an env.
func (e *env) imageID(ref string) string {
	e.t.Helper()
	var docs []struct{ Id string }
	out := e.must("image", "inspect", ref)
	if err := json.Unmarshal([]byte(out), &docs); err != nil || len(docs) != 1 {
		e.t.Fatalf("image inspect %s: %v\n%s", ref, err, out)
	}
	return docs[0].Id
}

func TestSaveLoadRoundTripKeepsTheDigest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	want := e.imageID("busybox")
	for _, format := range []string{"docker-archive", "oci-archive"} {
		archive := filepath.Join(e.base, format+".tar")
		e.must("save", "--format", format, "-o", archive, "busybox")
		fresh := newEnv(t)
		if got := fresh.must("load", "-i", archive); !strings.Contains(got, "Loaded image: busybox:latest") {
			t.Fatalf("%s: load printed %q", format, got)
		}
		if got := fresh.imageID("busybox"); got != want {
			t.Fatalf("%s: loaded image %s, want %s", format, got, want)
		}
	}
	// By ID: saved without a name (docker's rule); to standard output.
	r := e.run("save", strings.TrimPrefix(want, "sha256:")[:12])
	if r.code != 0 {
		t.Fatalf("save by ID: %s", r)
	}
	fresh := newEnv(t)
	if got := fresh.runIn([]byte(r.stdout), "load", "-i", "-"); got.code != 0 || !strings.Contains(got.stdout, "Loaded image ID: "+want) {
		t.Fatalf("load of an image saved by ID: %s", got)
	}
	if r := e.run("save", "--format", "zip", "busybox"); r.code == 0 {
		t.Fatalf("an unknown format was accepted: %s", r)
	}
	if r := e.run("save", "-o", filepath.Join(e.base, "x.tar"), "nosuchimage"); r.code == 0 {
		t.Fatalf("saving a missing image succeeded: %s", r)
	}
	if _, err := os.Stat(filepath.Join(e.base, "x.tar")); err == nil {
		t.Fatal("a failed save left its file")
	}
}

// TestSavedArchivesLoadInPodmanAndSkopeo checks the archives with the
// other engines' readers, when the machine has them (make deps installs
// both).
func TestSavedArchivesLoadInPodmanAndSkopeo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	want := e.imageID("busybox")
	docker := filepath.Join(e.base, "d.tar")
	oci := filepath.Join(e.base, "o.tar")
	e.must("save", "-o", docker, "busybox")
	e.must("save", "--format", "oci-archive", "-o", oci, "busybox")
	if skopeo, err := exec.LookPath("skopeo"); err != nil {
		t.Log("skopeo is not installed (make deps installs it): skipping its check")
	} else {
		// A docker archive has no manifest of its own: skopeo makes one
		// (another digest), so only the OCI archive keeps the image's.
		for ref, digest := range map[string]string{"docker-archive:" + docker: "", "oci-archive:" + oci: want} {
			out, err := exec.Command(skopeo, "inspect", ref).CombinedOutput()
			if err != nil || !strings.Contains(string(out), `"Layers"`) || !strings.Contains(string(out), digest) {
				t.Fatalf("skopeo inspect %s: %v, want its layers and digest %q\n%s", ref, err, digest, out)
			}
		}
	}
	podman, err := exec.LookPath("podman")
	if err != nil || testenv.Rootless() {
		t.Skip("podman is not installed, or this is the rootless tier (podman would use the user's own storage): skipping podman load")
	}
	// podman refuses a run root of more than 50 characters: the test's
	// own temp dir is too deep.
	store, err := os.MkdirTemp("", "erpm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(store) })
	args := []string{"--root", store + "/root", "--runroot", store + "/run", "--storage-driver", "vfs"}
	t.Cleanup(func() { _ = exec.Command(podman, append(args, "rmi", "-a", "-f")...).Run() })
	for _, archive := range []string{docker, oci} {
		out, err := exec.Command(podman, append(args, "load", "-i", archive)...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "docker.io/library/busybox:latest") {
			t.Fatalf("podman load %s: %v\n%s", archive, err, out)
		}
	}
	out, err := exec.Command(podman, append(args, "images", "--digests", "--format", "{{.Digest}}")...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), want) {
		t.Fatalf("podman images: %v\n%s", err, out)
	}
}

func TestImageInspectAndHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	var docs []map[string]any
	if err := json.Unmarshal([]byte(e.must("image", "inspect", "busybox")), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("image inspect: %v %v", err, docs)
	}
	d := docs[0]
	for _, k := range []string{"Id", "RepoTags", "RepoDigests", "Created", "Architecture", "Os", "Size", "Config", "RootFS"} {
		if _, ok := d[k]; !ok {
			t.Errorf("image inspect has no %s", k)
		}
	}
	if tags := d["RepoTags"].([]any); len(tags) != 1 || tags[0] != "busybox:latest" {
		t.Errorf("RepoTags = %v", tags)
	}
	cfg := d["Config"].(map[string]any)
	for _, k := range []string{"Env", "Cmd", "Entrypoint", "WorkingDir", "User", "Labels"} {
		if _, ok := cfg[k]; !ok {
			t.Errorf("image inspect's Config has no %s", k)
		}
	}
	if rootfs := d["RootFS"].(map[string]any); rootfs["Type"] != "layers" || len(rootfs["Layers"].([]any)) == 0 {
		t.Errorf("RootFS = %v", rootfs)
	}
	if r := e.run("image", "inspect", "busybox", "nosuch"); r.code == 0 || !strings.Contains(r.stdout, "busybox:latest") {
		t.Errorf("inspect of a found and a missing image: %s", r)
	}
	table := e.must("history", "busybox")
	if lines := strings.Split(strings.TrimSpace(table), "\n"); len(lines) < 2 ||
		!strings.HasPrefix(lines[0], "IMAGE") || !strings.Contains(lines[0], "CREATED BY") || !strings.Contains(lines[0], "COMMENT") {
		t.Fatalf("history:\n%s", table)
	}
	id := e.imageID("busybox")
	if q := strings.Fields(e.must("history", "-q", "--no-trunc", "busybox")); len(q) == 0 || q[0] != id {
		t.Fatalf("history -q --no-trunc: %q, want %s first", q, id)
	}
	for _, line := range strings.Split(strings.TrimSpace(e.must("image", "history", "--format", "json", "busybox")), "\n") {
		var row map[string]string
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("history --format json line %q: %v", line, err)
		}
		for _, k := range []string{"ID", "CreatedBy", "Size", "Comment", "CreatedSince"} {
			if _, ok := row[k]; !ok {
				t.Errorf("history --format json has no %s: %v", k, row)
			}
		}
	}
}
