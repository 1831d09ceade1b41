package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/edgerun/edgerun/internal/testenv"
)

// suite holds what every test shares: a scratch directory (set in
// TestMain), the binary and the probe program (each set once, by the
// first test that needs it).
type suite struct {
	tmp string // scratch directory for built helpers

	binOnce sync.Once
	bin     string // the edgerun binary
	binErr  error

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
	return m.Run()
}

// requireSetup skips unless the test can run real containers: as root, or
// as an ordinary user in the rootless tier (make test-rootless), with the
// test images. It returns the edgerun binary to test.
func requireSetup(t *testing.T) string {
	t.Helper()
	if !testenv.Rootless() {
		testenv.RequireRoot(t, "run real containers")
	}
	testenv.RequireImages(t)
	return binary(t)
}

// binary returns the edgerun binary: EDGERUN_BIN (make test's
// bin/edgerun), or, when that is not set, one built once from this
// checkout.
func binary(t *testing.T) string {
	t.Helper()
	s.binOnce.Do(func() {
		if s.bin = os.Getenv("EDGERUN_BIN"); s.bin != "" {
			return
		}
		s.bin = filepath.Join(s.tmp, "edgerun")
		cmd := exec.Command("go", "build", "-tags", "seccomp osusergo netgo", "-o", s.bin, "../cmd/edgerun")
		if out, err := cmd.CombinedOutput(); err != nil {
			s.binErr = fmt.Errorf("build edgerun (EDGERUN_BIN is not set): %w\n%s", err, out)
		}
	})
	if s.binErr != nil {
		t.Fatal(s.binErr)
	}
	if _, err := os.Stat(s.bin); err != nil {
		t.Skipf("edgerun binary %q is missing: run via `make test`, or set EDGERUN_BIN", s.bin)
	}
	return s.bin
}

// imagePath returns the layout directory of a test image built by make images.
func imagePath(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(testenv.RequireImages(t), name)
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
			s.probeErr = fmt.Errorf("build probe: %w\n%s", err, out)
		}
	})
	if s.probeErr != nil {
		t.Fatal(s.probeErr)
	}
	return s.probeDir
}
