package e2e

// The classic breakouts of the CVE regression suite (see cve_test.go).

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgerun/edgerun/internal/testenv"
)

// hostFile writes a file on the host and returns its path.
func hostFile(t *testing.T, dir, name, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// relToHost is a relative symlink target that, followed from anywhere on
// the host, reaches the absolute path p, and inside a container stops at
// its root.
func relToHost(p string) string {
	return strings.Repeat("../", 40) + strings.TrimPrefix(p, "/")
}

// A named volume whose destination in the image is a symlink to a host
// directory (absolute, or ../ enough to climb out of the root): the
// volume must be mounted inside the container's root, the first-use copy
// of the image's content must not read the host directory, and writes
// must land in the volume.
//
// Weakened build: rootfs.CopyUp opening the destination with
// os.Open(filepath.Join(rootfs, dest)) instead of pathrs.OpenatInRoot. It
// fails: the host directory's file is copied into the volume.
func TestCVEBreakoutVolumeDestinationSymlinkStaysInRoot(t *testing.T) {
	testenv.SkipRootless(t, "the suite probes root edgerun, whose escape is the host's root")
	t.Parallel()
	e := newEnv(t)
	host := t.TempDir()
	hostFile(t, host, "host-secret", "secret\n", 0o644)
	e.busyboxWith("cve-voldest:1",
		entry{name: "abs", link: host},
		entry{name: "rel", link: relToHost(host)},
	)
	for _, dst := range []string{"/abs", "/rel"} {
		vol := "voldest" + strings.TrimPrefix(dst, "/")
		r := e.run("run", "--rm", "-v", vol+":"+dst, "cve-voldest:1", "sh", "-c", "ls -A "+dst+"/; echo written > "+dst+"/written; readlink "+dst+"; grep volumes /proc/self/mountinfo; ls -la "+dst+"/")
		t.Logf("-v %s:%s: %s", vol, dst, r)
		defer e.run("volume", "rm", "-f", vol)
		if r.code == 125 {
			continue // refused
		}
		if strings.Contains(r.stdout, "host-secret") {
			t.Errorf("-v %s:%s: the container sees the host directory the image links to", vol, dst)
		}
		if got := e.run("run", "--rm", "-v", vol+":/v", "cve-voldest:1", "ls", "-A", "/v"); strings.TrimSpace(got.stdout) != "written" {
			t.Errorf("volume %s (mounted at the image's link %s) holds %s, want only the container's file", vol, dst, got)
		}
	}
	if left := entries(host); len(left) != 1 {
		t.Errorf("the host directory the image links to was written: %v", left)
	}
	if m := mountsUnder(t, host); len(m) > 0 {
		t.Errorf("a mount landed on the host directory: %v", m)
	}
}

// A mount source edgerun checks and then binds, swapped for a symlink in
// between. The one source edgerun checks is a --device's: a path that
// passes through links must end in /dev, and a pseudo-terminal there is
// bound rather than made. A goroutine keeps swapping the --device link
// between a pty (allowed) and a host file (refused when seen), while
// containers start; the container's device must never be the host file.
// The attempts are bounded (20 runs).
//
// Weakened build: specgen's deviceBind binding the --device path as given
// (d.Host, the link, followed again by the mount) instead of the node
// resolveHost checked. It fails: the container's device is the host file.
func TestCVEBreakoutDeviceSourceSwappedAfterCheck(t *testing.T) {
	testenv.SkipRootless(t, "the suite probes root edgerun, whose escape is the host's root")
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	_, tty := testenv.OpenPty(t)
	dir := t.TempDir()
	secret := hostFile(t, dir, "secret", "host-secret\n", 0o644)
	good, bad, dev := filepath.Join(dir, "good"), filepath.Join(dir, "bad"), filepath.Join(dir, "dev")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			target, tmp := tty.Name(), good
			if i%2 == 1 {
				target, tmp = secret, bad
			}
			_ = os.Remove(tmp)
			if os.Symlink(target, tmp) == nil {
				_ = os.Rename(tmp, dev)
			}
			time.Sleep(500 * time.Microsecond)
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	for i := 0; i < 20; i++ {
		r := e.run("run", "--rm", "--device", dev+":/dev/ttycve", "busybox", "sh", "-c", "stat -c %F /dev/ttycve")
		if strings.Contains(r.stdout, "regular file") {
			t.Fatalf("run %d: the container's /dev/ttycve is the host file the link was swapped to: %s", i, r)
		}
	}
}

// exec into a container whose image replaced /bin/sh (and other
// commands) with links to host paths: an absolute host path, ../ enough
// to climb out, /proc/1/root/... The command must be looked up and run in
// the container: not found, and the host program never run. edgerun's
// own lookup refuses the links it can follow (127); /proc/1/root is left
// to the exec in the container, which fails (any code but 0).
//
// Weakened build: specgen's containerView.step no longer resolving links
// itself and checkExecutable opening with os.Open(filepath.Join(root,
// rel)) (links followed on the host). It fails: the links to host files
// pass edgerun's check and are left to the exec (125), and the one to a
// host file that is not executable is judged on the host (126).
func TestCVEBreakoutExecOfHostLinkedShellRunsInside(t *testing.T) {
	testenv.SkipRootless(t, "the suite probes root edgerun, whose escape is the host's root")
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	script := hostFile(t, dir, "hostsh", "#!/bin/sh\necho pwned; touch "+ran+"\n", 0o755)
	plain := hostFile(t, dir, "plain", "not a program\n", 0o644)
	e.busyboxWith("cve-execlink:1",
		entry{name: "bin/sh", link: script},
		entry{name: "bin/rel", link: relToHost(script)},
		entry{name: "bin/viaproc", link: "/proc/1/root" + script},
		entry{name: "bin/plain", link: plain},
	)
	e.must("run", "-d", "--name", "target", "cve-execlink:1", "sleep", "600")
	defer e.run("rm", "-f", "target")
	for _, args := range [][]string{
		{"sh", "-c", "echo inside"}, {"/bin/sh"}, {"rel"}, {"/bin/viaproc"}, {"plain"},
	} {
		r := e.run(append([]string{"exec", "target"}, args...)...)
		want := r.code == 127
		if args[0] == "/bin/viaproc" {
			want = r.code != 0
		}
		if !want || strings.Contains(r.stdout, "pwned") {
			t.Errorf("exec %v (an image link to a host path): want not found (127), got %s", args, r)
		}
	}
	if _, err := os.Stat(ran); err == nil {
		t.Errorf("the host program an image link names was run")
	}
}

// Devices through /dev symlinks. A --device whose path passes through a
// link must end at a node in the host's /dev: a link to a node elsewhere
// (one a hostile party could make) is refused; a link into /dev gives
// the node it names. And the container path is made in the container's
// own /dev and root, whatever links the image has there.
//
// Weakened build: resolveHost's "outside /dev" refusal dropped
// (specgen/device_plan.go). It fails: the link to a node outside /dev is
// not refused.
func TestCVEBreakoutDeviceLinksGiveTheNodeAskedOrAreRefused(t *testing.T) {
	testenv.SkipRootless(t, "the suite probes root edgerun, whose escape is the host's root")
	t.Parallel()
	e := newEnv(t)
	host := t.TempDir()
	dir := t.TempDir()
	mknod(t, filepath.Join(dir, "node"), 1, 7) // /dev/full's numbers, outside /dev
	link(t, filepath.Join(dir, "node"), filepath.Join(dir, "out-link"))
	link(t, "/dev/null", filepath.Join(dir, "in-link"))
	e.busyboxWith("cve-devlink:1",
		entry{name: "dev", dir: true},
		entry{name: "dev/ttycve", link: "/etc/passwd"},
		entry{name: "hostdev", link: host},
	)
	r := e.run("run", "--rm", "--device", filepath.Join(dir, "out-link")+":/dev/x", "cve-devlink:1", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "outside /dev") {
		t.Errorf("--device through a link to a node outside /dev: want refusal (125, outside /dev), got %s", r)
	}
	for _, tc := range []struct{ flag, path, want string }{
		{filepath.Join(dir, "in-link") + ":/dev/x", "/dev/x", "1:3"},
		{"/dev/null:/dev/ttycve", "/dev/ttycve", "1:3"},
		{"/dev/null:/hostdev/x", "/hostdev/x", "1:3"},
	} {
		r := e.run("run", "--rm", "--device", tc.flag, "cve-devlink:1", "stat", "-c", "%t:%T", tc.path)
		if r.code == 125 {
			t.Logf("--device %s refused: %s", tc.flag, r)
			continue
		}
		if got := strings.TrimSpace(r.stdout); got != tc.want {
			t.Errorf("--device %s: %s in the container is %q, want %s: %s", tc.flag, tc.path, got, tc.want, r)
		}
	}
	if left := entries(host); len(left) > 0 {
		t.Errorf("a device node was made in the host directory the image links to: %v", left)
	}
	if b, _ := os.ReadFile("/etc/passwd"); len(b) == 0 {
		t.Errorf("the host's /etc/passwd is empty")
	}
}
