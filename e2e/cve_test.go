package e2e

// The CVE regression suite (docs/security.md, "CVE regression suite"):
// one test per runc advisory of recent years, written from the advisory's
// public description, each aimed at the code edgerun puts around
// libcontainer (its bind mounts, its /dev, its exec). Every test names, in
// its comment, the weakening that makes it fail; docs/security.md records
// that each was built and seen to fail. `go test -run TestCVE` runs the
// suite.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerun/edgerun/internal/testenv"
)

// hashFile is the SHA-256 of a file's content, hex.
func hashFile(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// copyBinary copies the edgerun under test to a file of the test's own,
// so what a test does to it (or tries to) touches no other test.
func copyBinary(t *testing.T, e *env) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "edgerun")
	b, err := os.ReadFile(e.bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// logsUntil polls a detached container's logs until they hold want, and
// returns them; it gives up after timeout and returns what there is.
func (e *env) logsUntil(name, want string, timeout time.Duration) string {
	e.t.Helper()
	var out string
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if out = e.run("logs", name).stdout; strings.Contains(out, want) {
			break
		}
	}
	return out
}

// CVE-2019-5736: a process in the container overwrites the runtime's
// binary through /proc/PID/exe of the runtime's own process, started in
// the container by exec: the image's program is a "#!/proc/self/exe"
// script, so the runtime's init, exec'ing it, runs itself again inside
// the container. The probe (exeattack.go) catches that process, keeps
// its /proc/PID/exe and writes through it once the process is gone. The
// exec is made by a copy of edgerun used for nothing else, so no other
// process keeps the file busy when the write is tried.
//
// Weakened build: libcontainer's exeseal (the sealed copy of the binary
// its init runs from) skipped, init started from /proc/self/exe
// (container_linux.go newParentProcess). It fails: "write-ok" and the
// binary's hash changes. On the real build the probe catches the sealed
// copy (/edgerun on a read-only overlay here) and its write fails (EROFS).
func TestCVE2019_5736ExecCannotOverwriteTheRuntimeBinary(t *testing.T) {
	testenv.SkipRootless(t, "the suite probes root edgerun, whose escape is the host's root")
	t.Parallel()
	e := newEnv(t)
	e.busyboxWith("cve-5736:1", entry{name: "bin/evil", body: "#!/proc/self/exe\n", mode: 0o755})
	execBin := copyBinary(t, e)
	before := hashFile(t, execBin)
	e.must("run", "-d", "--name", "victim", "-v", probe(t)+":/probe:ro", "cve-5736:1", "/probe/probe", "exe-attack", "60")
	defer e.run("rm", "-f", "victim")
	if out := e.logsUntil("victim", "ready", 30*time.Second); !strings.Contains(out, "ready") {
		t.Fatalf("the probe did not start: %q", out)
	}
	var logs string
	for i := 0; i < 20 && !strings.Contains(logs, "write-"); i++ {
		saved := e.bin
		e.bin = execBin
		r := e.run("exec", "victim", "/bin/evil")
		e.bin = saved
		t.Logf("exec %d of the #!/proc/self/exe program: exit %d", i, r.code)
		logs = e.logsUntil("victim", "write-", 2*time.Second)
	}
	t.Logf("probe:\n%s", logs)
	if strings.Contains(logs, "write-ok") {
		t.Errorf("the container wrote through /proc/PID/exe of the runtime's process")
	}
	if after := hashFile(t, execBin); after != before {
		t.Errorf("the edgerun binary used for exec changed on the host: sha256 %s, was %s", after, before)
	}
	if !strings.Contains(logs, "caught") {
		t.Fatalf("the probe never saw the runtime's process in the container: the test proved nothing")
	}
}

// CVE-2024-21626: a working directory given as /proc/self/fd/N, where N
// is a descriptor of a host directory leaked into the runtime's init,
// leaves the process with a working directory outside the container's
// root (the advisory's leak was runc's cgroup directory). For N from 3 to
// 12, with run -w, exec -w and an image symlink to /proc/self/fd/N as
// the working directory, the command reads a host marker by a relative
// path that only resolves from outside the root; it must not see it
// (being refused is fine: edgerun refuses a -w in /proc, by name or
// through the image's links).
//
// Weakened build: a host directory (/tmp) opened without O_CLOEXEC in
// every edgerun process, so libcontainer's init inherits it as the
// advisory's runc did, edgerun's refusals of a working directory in /proc
// (specgen checkWorkdir and CheckWorkdir) dropped, and libcontainer's
// verifyCwd (init_linux.go) made a no-op. It fails: the marker is read.
func TestCVE2024_21626WorkdirThroughLeakedFdStaysInside(t *testing.T) {
	testenv.SkipRootless(t, "the suite probes root edgerun, whose escape is the host's root")
	t.Parallel()
	e := newEnv(t)
	var links []entry
	for n := 3; n <= 12; n++ {
		links = append(links, entry{name: fmt.Sprintf("wd%d", n), link: fmt.Sprintf("/proc/self/fd/%d", n)})
	}
	e.busyboxWith("cve-21626:1", links...)
	secret := "host-marker-" + randomHex(t)
	marker := filepath.Join(t.TempDir(), "marker")
	if err := os.WriteFile(marker, []byte(secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// From any directory of the host, enough ../ reach / and then the
	// marker; from inside the container they stop at its root.
	rel := strings.Repeat("../", 40) + strings.TrimPrefix(marker, "/")
	script := "pwd; cat " + rel
	e.must("run", "-d", "--name", "target", "cve-21626:1", "sleep", "600")
	defer e.run("rm", "-f", "target")
	codes := map[string]int{}
	for n := 3; n <= 12; n++ {
		for _, wd := range []string{fmt.Sprintf("/proc/self/fd/%d", n), fmt.Sprintf("/wd%d", n)} {
			for _, args := range [][]string{
				{"run", "--rm", "-w", wd, "cve-21626:1", "sh", "-c", script},
				{"exec", "-w", wd, "target", "sh", "-c", script},
			} {
				r := e.run(args...)
				codes[fmt.Sprintf("%s -w %s: exit %d", args[0], wd[:3], r.code)]++
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("%s -w %s: the process read the host marker %s: %s", args[0], wd, marker, r)
				}
			}
		}
	}
	t.Logf("outcomes (by the first letters of -w): %v", codes)
}

// CVE-2025-31133: the runtime masks /proc paths by binding /dev/null
// over them; a racing process that makes the container's /dev/null a
// symlink (to a procfs file) first turns the mask into a bind of that
// file, writable, over the masked path. edgerun's /dev is always a fresh
// tmpfs no other container shares, and no mount may go into /dev, so the
// race needs a shared volume there: this test asks for one while a
// second container, sharing the volume, keeps planting null -> a procfs
// file. Every masked path must then be /dev/null (character 1:3), or the
// run refused.
//
// Weakened build: "/dev" dropped from specgen's reservedDirs (a volume
// may be mounted on /dev) and libcontainer's verifyDevNull (rootfs_linux.go
// maskPaths) made a no-op. It fails: a masked path is the planted procfs
// file.
func TestCVE2025_31133MaskSourceSwappedForSymlinkIsRefused(t *testing.T) {
	testenv.SkipRootless(t, "the suite probes root edgerun, whose escape is the host's root")
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("volume", "create", "shareddev")
	defer e.run("volume", "rm", "-f", "shareddev")
	e.must("run", "-d", "--name", "racer", "-v", "shareddev:/x", "busybox", "sh", "-c",
		"while :; do ln -sfn /proc/sys/kernel/hostname /x/null; done")
	defer e.run("rm", "-f", "racer")
	masked := []string{"/proc/keys", "/proc/timer_list", "/proc/kcore", "/proc/interrupts"}
	check := "for p in " + strings.Join(masked, " ") + "; do [ -e $p ] && echo $p $(stat -L -c %F-%t:%T $p); done"
	for i := 0; i < 5; i++ {
		for _, flags := range [][]string{{"-v", "shareddev:/dev"}, {}} {
			r := e.run(append(append([]string{"run", "--rm"}, flags...), "busybox", "sh", "-c", check)...)
			if len(flags) > 0 && r.code == 125 {
				continue // refused: the race has nowhere to land
			}
			if len(flags) == 0 && strings.TrimSpace(r.stdout) == "" {
				t.Fatalf("none of %v exists on this kernel: the probe has nothing to look at: %s", masked, r)
			}
			for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
				if p, what, ok := strings.Cut(l, " "); ok && what != "character special file-1:3" {
					t.Errorf("run %v: masked path %s is %s, not /dev/null (1:3): %s", flags, p, what, r)
				}
			}
		}
	}
}

// CVE-2025-52565: with a terminal, the runtime binds the container's
// pty over /dev/console before it applies the masked and read-only
// paths; a /dev/console that is a symlink (to a /proc file) redirects
// that bind. The image plants dev/console -> a masked /proc file this
// kernel has (/proc/timer_list, /proc/keys or /proc/interrupts) and runs
// with -t: /dev/console must be the pty (character, major 136) and the
// file still /dev/null, or the run refused.
//
// Weakened build: the /dev tmpfs dropped from specgen's defaultMounts (the
// image's /dev is used as is) and libcontainer's mountConsole opening
// /dev/console without O_NOFOLLOW (console_linux.go). It fails:
// /dev/console is not the pty.
func TestCVE2025_52565ConsoleBindDoesNotFollowImageSymlink(t *testing.T) {
	testenv.SkipRootless(t, "the suite probes root edgerun, whose escape is the host's root")
	t.Parallel()
	e := newEnv(t)
	target := ""
	for _, p := range []string{"/proc/timer_list", "/proc/keys", "/proc/interrupts"} {
		if _, err := os.Stat(p); err == nil {
			target = p
			break
		}
	}
	if target == "" {
		t.Skip("this kernel has none of the masked /proc files the probe links to")
	}
	e.busyboxWith("cve-52565:1",
		entry{name: "dev", dir: true},
		entry{name: "dev/console", link: target},
		entry{name: "dev/pts", dir: true},
	)
	r := e.run("run", "--rm", "-t", "cve-52565:1", "sh", "-c",
		"stat -L -c %F-%t /dev/console; stat -c %F-%t:%T "+target)
	t.Logf("run -t: %s", r)
	if r.code == 125 {
		return // refused
	}
	out := strings.Split(strings.TrimSpace(strings.ReplaceAll(r.stdout, "\r", "")), "\n") // a terminal ends lines with \r\n
	if len(out) != 2 || out[0] != "character special file-88" || out[1] != "character special file-1:3" {
		t.Errorf("with an image's dev/console -> %s, want /dev/console the pty (major 0x88) and %s masked (1:3); got %q", target, target, out)
	}
}

// CVE-2025-52881: the runtime's own writes to procfs (the LSM label in
// /proc/self/attr, sysctls in /proc/sys) are redirected through a mount
// the attacker shares into the container's /proc, to a file of the
// attacker's choice. A faithful reproduction needs an AppArmor or SELinux
// host (this one has neither); the closest probe uses the write edgerun
// asks of libcontainer on every host, a sysctl: --sysctl kernel.msgmax
// with a shared volume asked on /proc/sys, where a racing container
// plants kernel/msgmax -> a file of a second volume (and provides what
// the runtime reads there first, as an attacker would). The write must land
// in the container's own IPC namespace: never in a volume, never in the
// host's kernel.msgmax; or the run is refused.
//
// Weakened build: "/proc" dropped from specgen's reservedDirs, and in
// libcontainer both its refusal of mounts inside /proc (checkProcMount)
// and its private procfs handle for sysctls (internal/sys WriteSysctls
// opening /proc/sys/... by the container's path). It fails: the sysctl
// value lands in the second volume's file. With edgerun's refusal kept,
// the weakened libcontainer alone does not fail it.
func TestCVE2025_52881SysctlWriteIsNotRedirected(t *testing.T) {
	testenv.SkipRootless(t, "the suite probes root edgerun, whose escape is the host's root")
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	hostValue, err := os.ReadFile("/proc/sys/kernel/msgmax")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"sysvol", "loot"} {
		e.must("volume", "create", v)
		defer e.run("volume", "rm", "-f", v)
	}
	// The racer prepares what the runtime's init reads from /proc/sys
	// before the write (cap_last_cap), and the file the write is to be
	// redirected to, as an attacker would; then keeps planting the link.
	e.must("run", "-d", "--name", "racer", "-v", "sysvol:/x", "-v", "loot:/loot", "busybox", "sh", "-c",
		"mkdir -p /x/kernel; cat /proc/sys/kernel/cap_last_cap > /x/kernel/cap_last_cap; touch /loot/redirected; "+
			"while :; do ln -sfn /loot/redirected /x/kernel/msgmax; done")
	defer e.run("rm", "-f", "racer")
	value := fmt.Sprint(52881 + time.Now().UnixNano()%10000)
	for i := 0; i < 5; i++ {
		for _, flags := range [][]string{{"-v", "sysvol:/proc/sys", "-v", "loot:/loot"}, {"-v", "loot:/loot"}} {
			args := append(append([]string{"run", "--rm", "--sysctl", "kernel.msgmax=" + value}, flags...),
				"busybox", "sh", "-c", "cat /proc/sys/kernel/msgmax; cat /loot/redirected 2>/dev/null; true")
			r := e.run(args...)
			if len(flags) > 2 && r.code == 125 {
				continue // refused
			}
			if r.code != 0 {
				t.Errorf("run %v: %s", flags, r)
				continue
			}
			if got := strings.Split(r.stdout, "\n"); got[0] != value || strings.Count(r.stdout, value) != 1 {
				t.Errorf("run %v: want the sysctl only in the container's kernel.msgmax, got %q", flags, r.stdout)
			}
		}
	}
	if out := e.must("run", "--rm", "-v", "loot:/loot", "busybox", "cat", "/loot/redirected"); out != "" {
		t.Errorf("the sysctl write landed in a volume's file: %q", out)
	}
	if now, _ := os.ReadFile("/proc/sys/kernel/msgmax"); string(now) != string(hostValue) {
		t.Errorf("the host's kernel.msgmax changed: %q, was %q", now, hostValue)
	}
}
