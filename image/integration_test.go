package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install -y umoci skopeo): %v", tool, err)
		}
	}
}

func run(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// TestLoadToolOutputs loads what other tools write: an OCI layout made by
// umoci, and an oci-archive and docker-archive made by skopeo from it.
func TestLoadToolOutputs(t *testing.T) {
	requireTools(t, "umoci", "skopeo")
	dir := t.TempDir()
	run(t, dir, "umoci", "init", "--layout", "lay")
	run(t, dir, "umoci", "new", "--image", "lay:sensor")
	run(t, dir, "umoci", "config", "--image", "lay:sensor", "--config.entrypoint", "/bin/sensor")
	run(t, dir, "umoci", "unpack", "--rootless", "--image", "lay:sensor", "bundle")
	if err := os.WriteFile(filepath.Join(dir, "bundle/rootfs/motd"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "umoci", "repack", "--image", "lay:sensor", "bundle")
	run(t, dir, "skopeo", "copy", "oci:lay:sensor", "oci-archive:o.tar:app:2")
	run(t, dir, "skopeo", "copy", "oci:lay:sensor", "docker-archive:d.tar:sensor:1.0")

	s := newStore(t)
	steps := []struct {
		src, stdin string
		want       string
	}{
		{filepath.Join(dir, "lay"), "", "docker.io/library/sensor:latest"},
		{filepath.Join(dir, "o.tar"), "", "docker.io/library/app:2"},
		{"-", filepath.Join(dir, "d.tar"), "docker.io/library/sensor:1.0"},
	}
	for _, st := range steps {
		var in *os.File
		if st.stdin != "" {
			f, err := os.Open(st.stdin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			in = f
		}
		got, err := s.Load(bg, st.src, in, LoadOptions{})
		if err != nil {
			t.Fatalf("load %s: %v", st.src, err)
		}
		if len(got) != 1 || !slices.Equal(got[0].Names, []string{st.want}) {
			t.Fatalf("load %s: %+v, want %s", st.src, got, st.want)
		}
	}
	imgs, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	// umoci's layout and skopeo's oci-archive share a manifest; the
	// docker-archive becomes a synthesized manifest of the same layers.
	if len(imgs) != 2 {
		t.Fatalf("%d images, want 2: %+v", len(imgs), imgs)
	}
	names := map[string]bool{}
	for _, im := range imgs {
		for _, n := range im.Names {
			names[n] = true
		}
		if im.Config.Config.Entrypoint[0] != "/bin/sensor" || len(s.Layers(im)) != 1 {
			t.Errorf("image %v: config %+v", im.Names, im.Config.Config)
		}
	}
	for _, st := range steps {
		if !names[st.want] {
			t.Errorf("List lacks %s: %v", st.want, names)
		}
	}
	ids, _ := s.DiffIDs()
	if len(ids) != 1 {
		t.Errorf("the two images share one layer, got %d diff IDs", len(ids))
	}
}
