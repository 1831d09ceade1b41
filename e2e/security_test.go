package e2e

import (
	"fmt"
	"github.com/edgerun/edgerun/internal/testenv"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDefaultCapabilitiesAndSeccompSeenFromInside(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	out := e.must("run", "--rm", "busybox", "cat", "/proc/self/status")
	for key, want := range map[string]string{
		"CapEff":     "00000000a80425fb", // docker's 14 capabilities
		"CapPrm":     "00000000a80425fb",
		"CapBnd":     "00000000a80425fb",
		"CapInh":     "0000000000000000",
		"CapAmb":     "0000000000000000",
		"Seccomp":    "2", // filter mode
		"NoNewPrivs": "1",
	} {
		if got := statusField(out, key); got != want {
			t.Errorf("/proc/self/status %s = %q, want %q", key, got, want)
		}
	}
}

func statusField(status, key string) string {
	for _, l := range strings.Split(status, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// hostBlockDevice returns MAJOR:MINOR of the block device holding /.
func hostBlockDevice(t *testing.T) string {
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
}

// probeResults runs the probe program in a container and parses its lines.
func probeResults(t *testing.T, e *env, extra ...string) map[string]string {
	t.Helper()
	args := append([]string{"run", "--rm", "-v", probe(t) + ":/probe:ro"}, extra...)
	args = append(args, "busybox", "/probe/probe", hostBlockDevice(t))
	out := e.must(args...)
	res := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			res[k] = v
		}
	}
	return res
}

func TestConfinedRootCannotEscapeFromInside(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	res := probeResults(t, e)
	for _, name := range []string{
		"mount", "finit_module", "init_module", "socket_af_alg", "socket_af_vsock", "unshare_user", "keyctl",
	} {
		if res[name] != "operation not permitted" {
			t.Errorf("%s from inside the container: %q, want operation not permitted", name, res[name])
		}
	}
	if got := res["raw_block_open"]; got == "ok" || got == "" {
		t.Errorf("reading the host's block device %s from inside: %q, want a failure", hostBlockDevice(t), got)
	}
	if got := res["sysrq_trigger"]; got == "ok" || got == "" {
		t.Errorf("writing /proc/sysrq-trigger from inside: %q, want a failure", got)
	}
	if _, err := os.Stat("/proc/sysrq-trigger"); err != nil {
		t.Logf("note: this kernel has no /proc/sysrq-trigger, so its check is weak here")
	}
}

// The probe itself must be able to tell: with CAP_SYS_ADMIN, CAP_SYS_MODULE
// and no seccomp the same calls reach the kernel and fail (or not) for the
// kernel's own reasons, not with the confinement's EPERM. (finit_module
// needs CAP_SYS_MODULE: without it a kernel with module support answers
// EPERM, which only a kernel without modules, like the dev machine's, hides.
// Rootless, the kernel itself answers EPERM to finit_module: CAP_SYS_MODULE
// counts only in the initial user namespace, so it is not asked there.)
func TestProbeSeesTheKernelWithoutConfinement(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	res := probeResults(t, e, "--cap-add", "SYS_ADMIN", "--cap-add", "SYS_MODULE", "--security-opt", "seccomp=unconfined")
	calls := []string{"mount", "finit_module", "socket_af_alg", "unshare_user"}
	if testenv.Rootless() {
		calls = slices.DeleteFunc(calls, func(c string) bool { return c == "finit_module" })
	}
	for _, name := range calls {
		if res[name] == "operation not permitted" || res[name] == "" {
			t.Errorf("%s without confinement: %q, want the kernel's own answer", name, res[name])
		}
	}
}

func TestBusyboxToolsFailAsConfinedRoot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	for _, script := range []string{
		"mount -t tmpfs x /mnt",
		"unshare -U true",
		"insmod /bin/busybox",
		"echo h > /proc/sysrq-trigger",
		"mknod /tmp/raw b " + strings.Replace(hostBlockDevice(t), ":", " ", 1) + " && head -c 1 /tmp/raw",
	} {
		r := e.run("run", "--rm", "busybox", "sh", "-c", script)
		if r.code == 0 || r.code == 125 {
			t.Errorf("%q as root in a container: want it to fail inside, got %s", script, r)
		}
	}
}

func TestDevicePassedWithFlagIsUsable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	out := e.must("run", "--rm", "--device", "/dev/zero:/dev/myzero", "busybox", "sh", "-c",
		"head -c 4 /dev/myzero | od -An -tx1")
	if strings.Join(strings.Fields(out), " ") != "00 00 00 00" {
		t.Errorf("reading /dev/myzero passed with --device: %q", out)
	}
	r := e.run("run", "--rm", "busybox", "test", "-e", "/dev/myzero")
	if r.code != 1 {
		t.Errorf("without --device, /dev/myzero: want absent (exit 1), got %s", r)
	}
}

func TestDevicePermissionsAreEnforced(t *testing.T) {
	testenv.SkipRootless(t, "no device cgroup: rootless refuses --device access other than rw (TestRootlessDeviceIsBoundInAndAccessOtherThanRWIsRefused)")
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("needs a character device outside the default set: %v", err)
	}
	// /dev/loop-control (10:237) is not one of the default devices, so the
	// device cgroup allows exactly what --device grants. Opening it does
	// nothing by itself.
	script := "exec 3</dev/lc && echo read-ok; exec 4>/dev/lc && echo write-ok"
	out := e.run("run", "--rm", "--device", "/dev/loop-control:/dev/lc:r", "busybox", "sh", "-c", script).stdout
	if !containsLine(out, "read-ok") || containsLine(out, "write-ok") {
		t.Errorf("--device ...:r: want read allowed and write refused, got %q", out)
	}
	out = e.must("run", "--rm", "--device", "/dev/loop-control:/dev/lc", "busybox", "sh", "-c", script)
	if !containsLine(out, "read-ok") || !containsLine(out, "write-ok") {
		t.Errorf("--device default rwm: want read and write, got %q", out)
	}
	r := e.run("run", "--rm", "busybox", "sh", "-c", "mknod /dev/lc c 10 237 || mknod /tmp/lc c 10 237 && exec 3</tmp/lc && echo read-ok")
	if containsLine(r.stdout, "read-ok") {
		t.Errorf("without --device a node made with mknod for 10:237 could be opened: %s", r)
	}
}

// hostCapSet is the capability set a container can get here: edgerun's
// (this test's) bounding set limited to the capabilities the kernel knows.
func hostCapSet(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	bnd, err := strconv.ParseUint(statusField(string(b), "CapBnd"), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	last, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(last)))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%016x", bnd&(1<<(n+1)-1))
}

func TestPrivilegedContainerGetsEveryCapabilityDeviceAndRwSys(t *testing.T) {
	testenv.SkipRootless(t, "--privileged in a user namespace gets the namespace's capabilities, not the host's devices and a writable /sys")
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("needs a host device outside the default set: %v", err)
	}
	script := "grep -E '^(CapEff|CapBnd|Seccomp):' /proc/self/status; grep -E ' /sys sysfs (rw|ro)' /proc/mounts; " +
		"test -c /dev/loop-control && echo has-loop-control; grep -q Timer /proc/timer_list && echo timer-list-visible"
	out := e.must("run", "--rm", "--privileged", "busybox", "sh", "-c", script)
	want := hostCapSet(t)
	if got := statusField(out, "CapEff"); got != want {
		t.Errorf("--privileged: CapEff = %s, want every capability this host grants (%s)\n%s", got, want, out)
	}
	if got := statusField(out, "CapBnd"); got != want {
		t.Errorf("--privileged: CapBnd = %s, want %s", got, want)
	}
	if statusField(out, "Seccomp") != "0" {
		t.Errorf("--privileged: want no seccomp filter (docker's), got\n%s", out)
	}
	if !strings.Contains(out, " /sys sysfs rw") {
		t.Errorf("--privileged: want /sys mounted read-write, got\n%s", out)
	}
	if !containsLine(out, "has-loop-control") || !containsLine(out, "timer-list-visible") {
		t.Errorf("--privileged: want the host's devices and no masked paths, got\n%s", out)
	}
}

func TestCapAddAllGivesEveryCapability(t *testing.T) {
	testenv.SkipRootless(t, "edgerun holds every capability of its user namespace, so the host's set is not what --cap-add ALL gives")
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	out := e.must("run", "--rm", "--cap-add", "ALL", "busybox", "grep", "^CapEff:", "/proc/self/status")
	if got, want := statusField(out, "CapEff"), hostCapSet(t); got != want {
		t.Errorf("--cap-add ALL: CapEff = %s, want %s", got, want)
	}
}

func TestCapAddOutsideTheBoundingSetIsRefused(t *testing.T) {
	testenv.SkipRootless(t, "edgerun holds every capability of its user namespace: no capability is outside its bounding set")
	t.Parallel()
	set, err := strconv.ParseUint(hostCapSet(t), 16, 64)
	if err != nil {
		t.Fatal(err)
	}
	missing := -1
	for i := 0; i < 64 && set>>i != 0; i++ {
		if set&(1<<i) == 0 {
			missing = i
			break
		}
	}
	if missing != 24 { // CAP_SYS_RESOURCE, the one this machine's sandbox drops
		t.Skip("needs edgerun to run without CAP_SYS_RESOURCE in its bounding set")
	}
	e := newEnv(t)
	e.loadBusybox()
	r := e.run("run", "--rm", "--cap-add", "SYS_RESOURCE", "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "remove --cap-add SYS_RESOURCE") {
		t.Errorf("--cap-add of a capability edgerun lacks: want 125 saying what to do, got %s", r)
	}
}

func TestCommandFromABindMountRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	// docker runs a command that only a volume provides, whichever flag
	// mounts it, and through PATH too.
	for _, mount := range [][]string{
		{"-v", probe(t) + ":/probe:ro"},
		{"--mount", "type=bind,source=" + probe(t) + ",target=/probe,readonly"},
	} {
		args := append([]string{"run", "--rm"}, mount...)
		out := e.must(append(args, "busybox", "/probe/probe", hostBlockDevice(t))...)
		if !strings.Contains(out, "mount ") {
			t.Errorf("probe from a bind mount (%s) printed %q", mount[0], out)
		}
	}
	out := e.must("run", "--rm", "-v", probe(t)+":/probe:ro", "-e", "PATH=/bin:/probe", "busybox", "probe", hostBlockDevice(t))
	if !strings.Contains(out, "mount ") {
		t.Errorf("probe found on PATH in a bind mount printed %q", out)
	}
	r := e.run("run", "--rm", "-v", probe(t)+":/probe:ro", "busybox", "/probe/nothere")
	if r.code != 127 || !strings.Contains(r.stderr, "/probe/nothere") {
		t.Errorf("a command missing from the bind mount: want 127 naming it, got %s", r)
	}
	// A tmpfs is empty when the container starts: the runtime's execve
	// says so, with the same exit code.
	r = e.run("run", "--rm", "--tmpfs", "/scratch", "busybox", "/scratch/cmd")
	if r.code != 127 {
		t.Errorf("a command on a tmpfs: want 127 from the runtime, got %s", r)
	}
}
