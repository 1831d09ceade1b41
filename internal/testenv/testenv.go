// Package testenv owns what the module's tests need from the machine they
// run on: the one way to say that a test needs root or the test images
// (RequireRoot, RequireImages), that a test belongs to the long proof
// suite (RequireReliabilitySuite), and the checks that a test left nothing on
// the host (mounts, cgroups on cgroup v1, v2 and the hybrid layout,
// veths, leases, netns mounts, nftables rules).
//
// It is imported only by _test.go files. It may import only the standard
// library and outside modules (nftables); no package of this module, so
// every package's tests can use it without a cycle or a layering exception.
//
// hack/vm/stage.sh compiles into the test VMs the tests of every package
// whose tests use this package (hack/vm/root-packages.sh); a test in
// internal/layering holds that set to the packages calling RequireRoot,
// and forbids root checks of any other kind in tests.
package testenv

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// RequireRoot skips the test unless it runs as root. why completes
// "needs root to ...": what the test does that only root may.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs root to %s: run the tests as root (make test does)", why)
	}
}

// RootlessEnv is set (to 1) by make test-rootless, which runs the e2e
// suite as throwaway ordinary users (with and without subordinate IDs):
// edgerun's rootless mode.
const RootlessEnv = "EDGERUN_TEST_ROOTLESS"

// Rootless reports whether the tests run in the rootless tier: as an
// ordinary user, with RootlessEnv set.
func Rootless() bool { return os.Getenv(RootlessEnv) == "1" && os.Geteuid() != 0 }

// SkipRootless skips the test in the rootless tier. why completes
// "rootless: ...": what the test needs that an ordinary user cannot have
// (a limit without cgroup delegation, the host's cgroups or nftables).
// make test-rootless counts these skips.
func SkipRootless(t testing.TB, why string) {
	t.Helper()
	if Rootless() {
		t.Skipf("rootless: %s", why)
	}
}

// RootlessMappingEnv is "single" when make test-rootless runs the suite as
// its user without subordinate IDs: the session maps only the user (root
// inside), so containers cannot switch to another user.
const RootlessMappingEnv = "EDGERUN_TEST_ROOTLESS_MAPPING"

// SkipSingleID skips the test in the rootless tier's single-ID run. why
// completes "rootless without subordinate IDs: ...".
func SkipSingleID(t testing.TB, why string) {
	t.Helper()
	if Rootless() && os.Getenv(RootlessMappingEnv) == "single" {
		t.Skipf("rootless without subordinate IDs: %s", why)
	}
}

// ImagesEnv names the directory of the test images that make images
// builds (the busybox and sensor OCI layouts); make test exports it.
const ImagesEnv = "EDGERUN_TEST_IMAGES"

// RequireImages returns the directory of the test images, and skips the
// test when ImagesEnv is not set. A set directory that does not exist
// fails the test: the environment promised images it does not have.
func RequireImages(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(ImagesEnv)
	if dir == "" {
		t.Skip("needs the test images: " + ImagesEnv + " is not set; run through make test, which builds them (make images) and sets it")
	}
	if fi, err := os.Stat(dir); err != nil {
		t.Fatalf("%s: %v: run make images, or unset %s", ImagesEnv, err, ImagesEnv)
	} else if !fi.IsDir() {
		t.Fatalf("%s=%s is not a directory: run make images, or unset %s", ImagesEnv, dir, ImagesEnv)
	}
	return dir
}

// ReliabilityEnv is set (to 1) by make test-reliability, which runs the
// proof suite (e2e/reliability): fault points, random kills, load and soak,
// the hostile-input corpus. The suite takes minutes of a whole machine,
// so go test ./... and the test VMs, which do not set it, skip it.
const ReliabilityEnv = "EDGERUN_TEST_RELIABILITY"

// RequireReliabilitySuite skips the test unless ReliabilityEnv is 1.
func RequireReliabilitySuite(t testing.TB) {
	t.Helper()
	if os.Getenv(ReliabilityEnv) != "1" {
		t.Skip("part of the proof suite: run it with make test-reliability (" + ReliabilityEnv + "=1), which make test runs")
	}
}

// delegatedControllers are the controllers a delegated cgroup must have for
// rootless limits (cgroups.DelegatedControllers).
var delegatedControllers = []string{"memory", "pids", "cpu"}

// Delegation returns the cgroup v2 subtree delegated to the ordinary user
// running the tests, below the cgroup2 root (/sys/fs/cgroup): rootless
// edgerun puts its containers' cgroups at <delegation>/edgerun/<id>. It is
// the answer of cgroups.Delegation, reached the same way: on a pure cgroup
// v2 host, the highest ancestor of this process's cgroup whose directory,
// cgroup.procs and cgroup.subtree_control the user may write, with the
// memory, pids and cpu controllers. "" outside the rootless tier, on
// cgroup v1 or the hybrid layout, and without such a cgroup (this package
// may not import cgroups; internal/layering keeps it free of the module).
func Delegation() string {
	if !Rootless() {
		return ""
	}
	const mount = "/sys/fs/cgroup"
	if _, err := os.Stat(filepath.Join(mount, "cgroup.controllers")); err != nil {
		return "" // not a pure v2 host
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	self, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "0::")
	if !ok {
		return ""
	}
	found := ""
	for dir := path.Clean(self); dir != "/" && dir != "."; dir = path.Dir(dir) {
		full := filepath.Join(mount, dir)
		if unix.Access(full, unix.W_OK) != nil || unix.Access(filepath.Join(full, "cgroup.procs"), unix.W_OK) != nil ||
			unix.Access(filepath.Join(full, "cgroup.subtree_control"), unix.W_OK) != nil {
			break
		}
		found = dir
	}
	if found == "" {
		return ""
	}
	have, err := os.ReadFile(filepath.Join(mount, found, "cgroup.controllers"))
	if err != nil {
		return ""
	}
	for _, c := range delegatedControllers {
		if !slices.Contains(strings.Fields(string(have)), c) {
			return ""
		}
	}
	return found
}

// SkipRootlessWithoutCgroup skips the test in the rootless tier unless a
// cgroup is delegated to the test user (Delegation): limits, stats from the
// cgroup and liveness by cgroup need one. why completes "rootless without a
// delegated cgroup: ...". The VM matrix's rootless leg has a delegation, so
// these tests run there.
func SkipRootlessWithoutCgroup(t testing.TB, why string) {
	t.Helper()
	if Rootless() && Delegation() == "" {
		t.Skipf("rootless without a delegated cgroup: %s", why)
	}
}
