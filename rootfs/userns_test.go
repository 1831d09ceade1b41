package rootfs

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

// usernsEnv is set in the environment of this test binary re-executed as
// root of a new user namespace (TestSuitesAsRootOfAUserNamespace): the
// name of its mapping, a key of usernsMappings.
const usernsEnv = "EDGERUN_TEST_ROOTFS_USERNS"

// usernsOutside is the first host ID the test namespaces map, as a user's
// /etc/subuid range would.
const usernsOutside = 100000

// usernsMappings are the namespaces the suites run in: how many IDs from
// 0 each maps to usernsOutside.. (rootless sessions map 0 to the user and
// 1.. to its ranges; to the unpacker only which IDs exist matters).
var usernsMappings = map[string]int{
	"full":   65536, // subordinate ranges
	"single": 1,     // the single-ID mapping: no ranges, or no newuidmap
}

// TestMain makes the mounts of a test namespace private, so the overlays
// its tests mount never reach the host's mount table.
func TestMain(m *testing.M) {
	if os.Getenv(usernsEnv) != "" {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			fmt.Fprintf(os.Stderr, "make mounts private in the test namespace: %v\n", err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// idMode is the ownership policy the tests run under: "root" (root of the
// initial user namespace) or a key of usernsMappings.
func idMode(t *testing.T) string {
	t.Helper()
	if m := os.Getenv(usernsEnv); m != "" {
		return m
	}
	testenv.RequireRoot(t, "chown unpacked files to their owners")
	if !Privileged() {
		t.Skip("root of a user namespace the test did not make: its mapping is unknown")
	}
	return "root"
}

// TestSuitesAsRootOfAUserNamespace runs the package's tests again (the
// hostile-archive suite, bombs, the ownership policy, whiteouts, the layer
// cache, overlay with userxattr and the copy fallback) in this test binary
// re-executed as root of a user namespace and a mount namespace, once per
// mapping of usernsMappings: what a rootless session's commands do. None
// may skip there.
func TestSuitesAsRootOfAUserNamespace(t *testing.T) {
	if os.Getenv(usernsEnv) != "" {
		return // the re-executed binary; this test runs from outside
	}
	testenv.RequireRoot(t, "map host IDs 100000.. into user namespaces")
	// Unprivileged whiteouts are user.overlay.* xattrs: tmpfs has no user.*
	// xattrs before Linux 6.6 (the VM matrix's 6.1 kernel, whose temp dir
	// is its initramfs); there an unprivileged unpack of an opaque
	// directory fails, saying where to put --root instead.
	probe, err := os.CreateTemp("", "edgerun-xattr-probe-")
	if err != nil {
		t.Fatal(err)
	}
	probe.Close()
	defer os.Remove(probe.Name())
	if err := unix.Setxattr(probe.Name(), "user.edgerun.probe", []byte("1"), 0); err != nil {
		t.Skipf("the temp dir's file system has no user.* xattrs (%v; tmpfs before Linux 6.6): the host's make test runs this", err)
	}
	for name, size := range usernsMappings {
		t.Run(name, func(t *testing.T) {
			// The namespace's root is host uid 100000: its temp dir must
			// be its own.
			tmp, err := os.MkdirTemp("", "edgerun-rootfs-userns-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(tmp) })
			if err := os.Chown(tmp, usernsOutside, usernsOutside); err != nil {
				t.Fatal(err)
			}
			// /proc/self/exe: the namespace's root may not search the
			// directories of the test binary (the go tool's are 0700).
			cmd := exec.Command("/proc/self/exe", "-test.run=.",
				"-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), usernsEnv+"="+name, "TMPDIR="+tmp)
			ids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: usernsOutside, Size: size}}
			cmd.SysProcAttr = &syscall.SysProcAttr{
				Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
				UidMappings: ids,
				GidMappings: ids,
				// Become the namespace's root (host uid 0 is not mapped).
				Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("the suites as root of a user namespace mapping 0-%d to %d-: %v\n%s",
					size-1, usernsOutside, err, out)
			}
			passed := strings.Count(string(out), "--- PASS")
			for _, line := range strings.Split(string(out), "\n") {
				if strings.Contains(line, "--- SKIP") {
					t.Errorf("skipped in the user namespace (%s mapping): %s", name, strings.TrimSpace(line))
				}
			}
			if !strings.Contains(string(out), "--- PASS: TestUnpackHostile") {
				t.Errorf("the hostile-archive suite did not run in the user namespace:\n%s", out)
			}
			t.Logf("%d tests and subtests passed as root of a user namespace mapping %d IDs", passed, size)
		})
	}
}
