package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

// fakeDevDir makes a directory of the test's own in the host's /dev (a
// device link must lead into /dev), removed at the end: the simulated
// devices and their by-id-style links go there.
func fakeDevDir(t *testing.T) string {
	t.Helper()
	testenv.SkipRootless(t, "making device nodes in /dev needs root")
	dir := "/dev/edgerun-e2e-" + randomHex(t)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a directory in /dev for simulated devices: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func randomHex(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// mknod makes (or replaces) a character device node with mode 0660.
func mknod(t *testing.T, path string, major, minor uint32) {
	t.Helper()
	_ = os.Remove(path)
	if err := unix.Mknod(path, unix.S_IFCHR|0o660, int(unix.Mkdev(major, minor))); err != nil {
		t.Fatalf("mknod %s: %v", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil { // not the umask's 0640
		t.Fatal(err)
	}
	// The nodes stand for sensors with real drivers (loop, fuse); a kernel
	// without the driver (the VM matrix's) has nothing behind them.
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) {
		_ = os.Remove(path)
		t.Skipf("this kernel has no driver for %d:%d behind %s: %v", major, minor, path, err)
	}
	if err == nil {
		unix.Close(fd)
	}
}

// link makes (or replaces) a symbolic link, as udev makes by-id links.
func link(t *testing.T, target, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(path)
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// numbers is what stat says of a node in a container: "MAJOR:MINOR" in hex.
func numbers(major, minor uint32) string { return fmt.Sprintf("%x:%x", major, minor) }

// nodeIn returns "MAJOR:MINOR" (hex) of path in a running container, or
// "absent".
func nodeIn(e *env, name, path string) string {
	r := e.run("exec", name, "sh", "-c", "stat -c %t:%T "+path+" 2>/dev/null || echo absent")
	return strings.TrimSpace(r.stdout)
}

// waitNode waits until path in the container is want (see nodeIn).
func waitNode(t *testing.T, e *env, name, path, want string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = nodeIn(e, name, path); got == want {
			return
		}
	}
	t.Fatalf("%s in container %s: want %s, got %s", path, name, want, got)
}

func TestDeviceStableLinkIsFollowedAtEveryStart(t *testing.T) {
	t.Parallel()
	dev := fakeDevDir(t)
	e := newEnv(t)
	e.loadBusybox()
	// loop-control (10:237) and fuse (10:229): real devices that anyone
	// may open and the default device cgroup does not allow, so opening
	// them checks the rule too.
	mknod(t, dev+"/ttyA", 10, 237)
	mknod(t, dev+"/ttyB", 10, 229)
	byID := dev + "/serial/by-id/usb-FTDI_FT232R_A1B2C3-if00-port0"
	link(t, "../../ttyA", byID)
	e.must("run", "-d", "--name", "sensor", "--device", byID+":/dev/ttyUSB0", "busybox", "sleep", "1000")
	t.Cleanup(func() { e.run("rm", "-f", "sensor") })
	if got := nodeIn(e, "sensor", "/dev/ttyUSB0"); got != numbers(10, 237) {
		t.Fatalf("/dev/ttyUSB0 by the by-id link: got %s, want %s", got, numbers(10, 237))
	}
	e.must("exec", "sensor", "sh", "-c", "exec 3</dev/ttyUSB0")
	e.must("stop", "-t", "1", "sensor")
	// Replugged: the link now names another node.
	link(t, "../../ttyB", byID)
	e.must("start", "sensor")
	if got := nodeIn(e, "sensor", "/dev/ttyUSB0"); got != numbers(10, 229) {
		t.Fatalf("/dev/ttyUSB0 after the link moved and a start: got %s, want %s", got, numbers(10, 229))
	}
	e.must("exec", "sensor", "sh", "-c", "exec 3</dev/ttyUSB0")
	e.must("rm", "-f", "sensor")
}

func TestDeviceMissingRefusesUnlessOptional(t *testing.T) {
	t.Parallel()
	dev := fakeDevDir(t)
	e := newEnv(t)
	e.loadBusybox()
	absent := dev + "/serial/by-id/usb-absent"
	r := e.run("run", "--rm", "--device", absent+":/dev/ttyUSB0", "busybox", "true")
	want := "invalid run option: --device " + absent + ": no such device: plug it in, or pass it with --device-optional to start without it"
	if r.code != 125 || !strings.Contains(r.stderr, want) {
		t.Fatalf("a missing --device: want exit 125 saying %q, got %s", want, r)
	}
	r = e.run("run", "--rm", "--device-optional", absent+":/dev/ttyUSB0", "busybox", "test", "-e", "/dev/ttyUSB0")
	if want := "note: --device-optional " + absent + " is not there: the container starts without it"; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Fatalf("a missing --device-optional: want it started without the device (test -e exits 1) and a note, got %s", r)
	}
	mknod(t, dev+"/ttyA", 10, 237)
	link(t, "../../ttyA", absent)
	out := e.must("run", "--rm", "--device-optional", absent+":/dev/ttyUSB0", "busybox", "stat", "-c", "%t:%T", "/dev/ttyUSB0")
	if strings.TrimSpace(out) != numbers(10, 237) {
		t.Fatalf("a present --device-optional: got %q", out)
	}
}

func TestDeviceBadInputIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	outside := filepath.Join(e.base, "link-out")
	if err := os.Symlink("/etc/passwd", outside); err != nil {
		t.Fatal(err)
	}
	// The messages of docs/cli.md's "Error messages" table, whole.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--device", "/etc/passwd:/dev/x"},
			"invalid run option: --device /etc/passwd is not a character or block device: name a device node, like /dev/ttyUSB0"},
		{[]string{"--device", outside + ":/dev/x"},
			"invalid run option: --device " + outside + ": the link leads to /etc/passwd, outside /dev: a device link must point to a node in /dev"},
		{[]string{"--device", "/dev/../etc/passwd:/dev/x"},
			"invalid run option: --device \"/dev/../etc/passwd:/dev/x\": the host device path cannot contain ..: name the device itself, like /dev/ttyUSB0"},
		{[]string{"--device-cgroup-rule", "x 188:* rwm"},
			"invalid run option: --device-cgroup-rule \"x 188:* rwm\": the type \"x\" must be c (character), b (block) or a (all)"},
		{[]string{"--device-cgroup-rule", "c 5000:* rwm"},
			"invalid run option: --device-cgroup-rule \"c 5000:* rwm\": the major \"5000\" must be * or a number up to 4095"},
		{[]string{"--device-cgroup-rule", "c 188:* rwx"},
			"invalid run option: --device-cgroup-rule \"c 188:* rwx\": the access \"rwx\" must be a combination of r, w and m"},
	} {
		r := e.run(append(append([]string{"run", "--rm"}, tt.args...), "busybox", "true")...)
		if r.code != 125 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: want exit 125 saying %q, got %s", tt.args, tt.want, r)
		}
	}
}

func TestDeviceGroupAddGrantsTheDevicesGroup(t *testing.T) {
	t.Parallel()
	dev := fakeDevDir(t)
	e := newEnv(t)
	e.loadBusybox()
	// A serial port as a Pi has it: root:dialout 0660 (dialout is 20).
	mknod(t, dev+"/ttyAMA0", 1, 5)
	if err := os.Chown(dev+"/ttyAMA0", 0, 20); err != nil {
		t.Fatal(err)
	}
	read := []string{"busybox", "sh", "-c", "head -c 2 /dev/ttyAMA0 | od -An -tx1"}
	r := e.run(append([]string{"run", "--rm", "-u", "1000", "--device", dev + "/ttyAMA0:/dev/ttyAMA0"}, read...)...)
	if strings.Contains(r.stdout, "00 00") || !strings.Contains(r.stderr, "ermission denied") {
		t.Errorf("user 1000 without the device's group: want permission denied, got %s", r)
	}
	for _, g := range []string{"20"} {
		out := e.must(append([]string{"run", "--rm", "-u", "1000", "--group-add", g, "--device", dev + "/ttyAMA0:/dev/ttyAMA0"}, read...)...)
		if strings.Join(strings.Fields(out), " ") != "00 00" {
			t.Errorf("user 1000 with --group-add %s: read %q", g, out)
		}
	}
}

func TestDeviceCgroupRuleMirrorsMatchingNodes(t *testing.T) {
	t.Parallel()
	testenv.SkipRootless(t, "rootless containers have no device cgroup: --device-cgroup-rule is refused")
	e := newEnv(t)
	e.loadBusybox()
	name := "ttyE2E" + randomHex(t)
	mknod(t, "/dev/"+name, 10, 237)
	t.Cleanup(func() { _ = os.Remove("/dev/" + name) })
	out := e.must("run", "--rm", "--device-cgroup-rule", "c 10:237 rwm", "busybox", "sh", "-c",
		"stat -c %t:%T /dev/"+name+" && exec 3</dev/"+name+" && echo opened")
	if !containsLine(out, numbers(10, 237)) || !containsLine(out, "opened") {
		t.Fatalf("a node matching --device-cgroup-rule: want it in the container and usable, got %q", out)
	}
}

func TestDeviceHotplugInOutAndReplacedWhileRunning(t *testing.T) {
	t.Parallel()
	dev := fakeDevDir(t)
	e := newEnv(t)
	e.loadBusybox()
	byID := dev + "/serial/by-id/usb-Prolific_PL2303-if00-port0"
	e.must("run", "-d", "--name", "gps", "--device-optional", byID+":/dev/ttyUSB0", "busybox", "sleep", "1000")
	t.Cleanup(func() { e.run("rm", "-f", "gps") })
	waitNode(t, e, "gps", "/dev/ttyUSB0", "absent")
	// Plugged in while it runs: the node and its link appear.
	mknod(t, dev+"/ttyUSB3", 10, 237)
	link(t, "../../ttyUSB3", byID)
	waitNode(t, e, "gps", "/dev/ttyUSB0", numbers(10, 237))
	e.must("exec", "gps", "sh", "-c", "exec 3</dev/ttyUSB0")
	// Unplugged: udev removes the link and the node.
	_ = os.Remove(byID)
	_ = os.Remove(dev + "/ttyUSB3")
	waitNode(t, e, "gps", "/dev/ttyUSB0", "absent")
	// Back with another minor (another port): the device cgroup follows.
	mknod(t, dev+"/ttyUSB4", 10, 229)
	link(t, "../../ttyUSB4", byID)
	waitNode(t, e, "gps", "/dev/ttyUSB0", numbers(10, 229))
	e.must("exec", "gps", "sh", "-c", "exec 3</dev/ttyUSB0")
	// Replaced in place: the same link, a node of new numbers.
	mknod(t, dev+"/ttyUSB4", 10, 237)
	waitNode(t, e, "gps", "/dev/ttyUSB0", numbers(10, 237))
	if rec := e.inspectDoc("gps"); rec.RestartCount != 0 {
		t.Errorf("hotplug restarted the container: RestartCount %d", rec.RestartCount)
	}
}

func TestDeviceCgroupRuleFollowsNodesWhileRunning(t *testing.T) {
	t.Parallel()
	testenv.SkipRootless(t, "rootless containers have no device cgroup: --device-cgroup-rule is refused")
	e := newEnv(t)
	e.loadBusybox()
	name := "ttyE2E" + randomHex(t)
	t.Cleanup(func() { _ = os.Remove("/dev/" + name) })
	e.must("run", "-d", "--name", "hub", "--device-cgroup-rule", "c 10:237 rwm", "busybox", "sleep", "1000")
	t.Cleanup(func() { e.run("rm", "-f", "hub") })
	mknod(t, "/dev/"+name, 10, 237)
	waitNode(t, e, "hub", "/dev/"+name, numbers(10, 237))
	e.must("exec", "hub", "sh", "-c", "exec 3</dev/"+name)
	_ = os.Remove("/dev/" + name)
	waitNode(t, e, "hub", "/dev/"+name, "absent")
}

func TestDeviceRestartOnDeviceRestartsWhenItComesBack(t *testing.T) {
	t.Parallel()
	dev := fakeDevDir(t)
	e := newEnv(t)
	e.loadBusybox()
	byID := dev + "/serial/by-id/usb-modem"
	mknod(t, dev+"/ttyACM0", 10, 237)
	link(t, "../../ttyACM0", byID)
	e.must("run", "-d", "--name", "modem", "--restart-on-device", "--device", byID+":/dev/ttyACM0", "busybox", "sleep", "1000")
	t.Cleanup(func() { e.run("rm", "-f", "modem") })
	_ = os.Remove(byID)
	waitNode(t, e, "modem", "/dev/ttyACM0", "absent")
	mknod(t, dev+"/ttyACM1", 10, 229)
	link(t, "../../ttyACM1", byID)
	for deadline := time.Now().Add(20 * time.Second); e.inspectDoc("modem").RestartCount == 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("--restart-on-device: the container was not restarted when its device came back")
		}
	}
	waitNode(t, e, "modem", "/dev/ttyACM0", numbers(10, 229))
}
