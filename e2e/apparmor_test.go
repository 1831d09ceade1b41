package e2e

import (
	"os"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/apparmor"
)

// requireAppArmor skips unless the host enforces AppArmor and has
// apparmor_parser: the v2 VM of the matrix does (its suite requires this
// test), this development host does not.
func requireAppArmor(t *testing.T) {
	t.Helper()
	if !apparmor.System().Available() {
		t.Skip("AppArmor is not enabled on this host (the v2 VM leg runs this test)")
	}
	if apparmor.ParserPath() == "" {
		t.Skip("AppArmor is enabled but apparmor_parser is not installed")
	}
}

// TestAppArmorDefaultProfileConfinesAndUnconfinedLiftsIt: on a host with
// AppArmor, edgerun loads its own profile and runs every container under
// it; the profile denies mounts even to a container that holds
// CAP_SYS_ADMIN with seccomp off (so only AppArmor stands in the way);
// --security-opt apparmor=unconfined and --privileged lift it. A weakened
// build that leaves Process.ApparmorProfile empty fails the first check.
func TestAppArmorDefaultProfileConfinesAndUnconfinedLiftsIt(t *testing.T) {
	requireAppArmor(t)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	label := func(args ...string) string {
		t.Helper()
		r := e.run(append(append([]string{"run", "--rm", "--network", "none"}, args...), "busybox", "cat", "/proc/self/attr/current")...)
		if r.code != 0 {
			t.Fatalf("run %v: %s", args, r)
		}
		return strings.TrimSpace(strings.TrimRight(r.stdout, "\x00"))
	}
	if got := label(); got != apparmor.DefaultProfile+" (enforce)" {
		t.Fatalf("a default container's AppArmor label: %q, want %q", got, apparmor.DefaultProfile+" (enforce)")
	}
	if got := label("--security-opt", "apparmor=unconfined"); got != "unconfined" {
		t.Errorf("apparmor=unconfined: label %q", got)
	}
	if got := label("--privileged"); got != "unconfined" {
		t.Errorf("--privileged: label %q", got)
	}
	if got := label("--security-opt", "apparmor="+apparmor.DefaultProfile); got != apparmor.DefaultProfile+" (enforce)" {
		t.Errorf("apparmor=%s: label %q", apparmor.DefaultProfile, got)
	}

	mount := []string{"--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "busybox", "sh", "-c",
		"mkdir -p /m && mount -t tmpfs t /m && echo mounted"}
	r := e.run(append([]string{"run", "--rm", "--network", "none"}, mount...)...)
	if r.code == 0 || strings.Contains(r.stdout, "mounted") {
		t.Errorf("a mount under the default profile (CAP_SYS_ADMIN, no seccomp) succeeded: %s", r)
	}
	r = e.run(append([]string{"run", "--rm", "--network", "none", "--security-opt", "apparmor=unconfined"}, mount...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "mounted") {
		t.Errorf("the same mount with apparmor=unconfined: %s", r)
	}
	// The kernel's settings: /proc/sysrq-trigger and /proc/sys are denied
	// by the profile even with the masks and read-only mounts lifted by a
	// remount attempt (which the profile denies too).
	r = e.run("run", "--rm", "--network", "none", "--cap-add", "SYS_ADMIN", "busybox", "sh", "-c",
		"mount -o remount,rw /proc/sys 2>&1; echo 1 > /proc/sys/kernel/sysrq && echo wrote")
	if strings.Contains(r.stdout, "wrote") {
		t.Errorf("a write to /proc/sys under the default profile succeeded: %s", r)
	}

	// A process exec'd into a running container is confined as its init.
	id := e.runD("--network", "none", "busybox", "sleep", "600")
	r = e.run("exec", id, "cat", "/proc/self/attr/current")
	if got := strings.TrimSpace(strings.TrimRight(r.stdout, "\x00")); r.code != 0 || got != apparmor.DefaultProfile+" (enforce)" {
		t.Errorf("exec's AppArmor label: %s", r)
	}
	e.must("rm", "-f", id)

	// A profile the kernel does not have is refused at start with
	// libcontainer's word for it, and leaves nothing behind.
	r = e.run("run", "--rm", "--network", "none", "--security-opt", "apparmor=edgerun-no-such-profile", "busybox", "true")
	if r.code == 0 {
		t.Errorf("a container under a profile that is not loaded ran: %s", r)
	}
	if ents, _ := os.ReadDir(e.root + "/containers"); len(ents) != 0 {
		t.Errorf("a refused container left %d directories", len(ents))
	}
}
