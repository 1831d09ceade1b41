package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// suite holds what every test shares: the binary and the test images.
// It is set once in TestMain and only read afterwards.
type suite struct {
	bin    string // the edgerun binary
	images string // directory with the busybox and sensor OCI layouts
	tmp    string // scratch directory for built helpers

	probeOnce sync.Once
	probeDir  string
	probeErr  error
}

var s suite

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "edgerun-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	s.tmp = tmp
	s.images = os.Getenv("EDGERUN_TEST_IMAGES")
	s.bin = os.Getenv("EDGERUN_BIN")
	if s.bin == "" && os.Geteuid() == 0 && s.images != "" {
		// Not run through make: build the binary from this checkout.
		s.bin = filepath.Join(tmp, "edgerun")
		cmd := exec.Command("go", "build", "-tags", "seccomp osusergo netgo", "-o", s.bin, "../cmd/edgerun")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: build edgerun:", err)
			return 1
		}
	}
	return m.Run()
}

// requireRoot skips tests that need root for real containers.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: end-to-end tests run real containers (run as root, e.g. via make test)")
	}
}

// requireSetup skips when the binary or the test images are missing.
func requireSetup(t *testing.T) {
	t.Helper()
	requireRoot(t)
	if s.images == "" {
		t.Skip("EDGERUN_TEST_IMAGES is not set: run via `make test` (it builds bin/edgerun and out/images first)")
	}
	if _, err := os.Stat(s.bin); err != nil {
		t.Skipf("edgerun binary %q is missing: run via `make test`, or set EDGERUN_BIN", s.bin)
	}
}

// imagePath returns the layout directory of a test image built by make images.
func imagePath(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(s.images, name)
	if _, err := os.Stat(filepath.Join(p, "index.json")); err != nil {
		t.Skipf("test image %s is missing (%v): run `make images`", name, err)
	}
	return p
}

// probe builds (once) the static probe program of testdata/probe and
// returns the directory holding it, for a read-only bind mount.
func probe(t *testing.T) string {
	t.Helper()
	s.probeOnce.Do(func() {
		// The test VMs (hack/vm) have no Go toolchain: they bring it prebuilt.
		if dir := os.Getenv("EDGERUN_E2E_PROBE"); dir != "" {
			s.probeDir = dir
			return
		}
		s.probeDir = filepath.Join(s.tmp, "probe")
		cmd := exec.Command("go", "build", "-o", filepath.Join(s.probeDir, "probe"), "./testdata/probe")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			s.probeErr = fmt.Errorf("build probe: %v\n%s", err, out)
		}
	})
	if s.probeErr != nil {
		t.Fatal(s.probeErr)
	}
	return s.probeDir
}
