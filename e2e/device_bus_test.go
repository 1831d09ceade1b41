package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

// The real kernel interfaces of sensors: a serial port (a pty pair), an
// I2C bus (i2c-stub, which the VM matrix's amd64 kernel loads with a chip
// at 0x48) and a GPIO chip (qemu virt's PL061 in the arm64 VM), each passed
// to a container running as an ordinary user with the device's group.

// ptyPair opens a pseudo-terminal: its master, and its slave's path.
func ptyPair(t *testing.T) (*os.File, string) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("the pty's number: %v", err)
	}
	return master, fmt.Sprintf("/dev/pts/%d", n)
}

func TestDeviceSerialPortOfAPtyPairByIDLink(t *testing.T) {
	t.Parallel()
	dev := fakeDevDir(t)
	e := newEnv(t)
	e.loadBusybox()
	master, slave := ptyPair(t)
	// A USB GPS as udev names it, here the slave of a pty pair (as socat
	// makes a virtual serial port), readable by the tty group (5).
	if err := os.Chown(slave, 0, 5); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(slave, 0o660); err != nil {
		t.Fatal(err)
	}
	byID := dev + "/serial/by-id/usb-u-blox_GNSS_receiver-if00"
	link(t, slave, byID)
	// The "GPS" sends a sentence; the service reads a line and answers.
	if _, err := master.WriteString("$GPGGA,123519,4807.038,N,01131.000,E\n"); err != nil {
		t.Fatal(err)
	}
	out := e.must("run", "--rm", "-u", "1000", "--group-add", "5", "--device", byID+":/dev/ttyACM0", "busybox", "sh", "-c",
		"stty -F /dev/ttyACM0 -echo; head -n 1 /dev/ttyACM0 && echo ack >/dev/ttyACM0")
	if !strings.Contains(out, "$GPGGA,123519") {
		t.Fatalf("the sentence the host wrote to the serial port: not read inside, got %q", out)
	}
	if err := master.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 256)
	for !strings.Contains(string(got), "ack") {
		n, err := master.Read(buf)
		if err != nil {
			t.Fatalf("the answer on the serial port: read %q, then %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	// Without the group the port is refused, as on the host.
	r := e.run("run", "--rm", "-u", "1000", "--device", byID+":/dev/ttyACM0", "busybox", "sh", "-c", "exec 3</dev/ttyACM0")
	if r.code == 0 || !strings.Contains(r.stderr, "ermission denied") {
		t.Fatalf("user 1000 without the tty group: want permission denied, got %s", r)
	}
}

// i2cStubBus finds the bus of i2c-stub: its number.
func i2cStubBus(t *testing.T) int {
	t.Helper()
	names, _ := filepath.Glob("/sys/class/i2c-dev/i2c-*/name")
	for _, p := range names {
		b, err := os.ReadFile(p)
		if err == nil && strings.TrimSpace(string(b)) == "SMBus stub driver" {
			n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(filepath.Dir(p)), "i2c-"))
			if err == nil {
				return n
			}
		}
	}
	t.Skip("no i2c-stub bus here (modprobe i2c-dev; modprobe i2c-stub chip_addr=0x48: the VM matrix's amd64 kernel has them)")
	return 0
}

// smbusByte reads (write false) or writes a byte register of the chip at
// addr on the host's /dev/i2c-bus, as i2cget and i2cset do.
func smbusByte(t *testing.T, bus int, addr, reg uint8, write bool, val uint8) uint8 {
	t.Helper()
	fd, err := unix.Open(fmt.Sprintf("/dev/i2c-%d", bus), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	const i2cSlave, i2cSMBus, smbusByteData = 0x0703, 0x0720, 2
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), i2cSlave, uintptr(addr)); errno != 0 {
		t.Fatalf("I2C_SLAVE %#x: %v", addr, errno)
	}
	data := [34]byte{0: val}
	args := struct {
		readWrite uint8
		command   uint8
		size      uint32
		data      unsafe.Pointer
	}{readWrite: 1, command: reg, size: smbusByteData, data: unsafe.Pointer(&data)}
	if write {
		args.readWrite = 0
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), i2cSMBus, uintptr(unsafe.Pointer(&args))); errno != 0 {
		t.Fatalf("I2C_SMBUS register %#x: %v", reg, errno)
	}
	return data[0]
}

func TestDeviceI2CBusReadAndWrittenInside(t *testing.T) {
	t.Parallel()
	bus := i2cStubBus(t)
	dev := fakeDevDir(t)
	e := newEnv(t)
	e.loadBusybox()
	// The bus as Raspberry Pi OS has it: root:i2c 0660 (i2c is 998 there).
	node := dev + "/i2c-stub"
	mknod(t, node, 89, uint32(bus))
	if err := os.Chown(node, 0, 998); err != nil {
		t.Fatal(err)
	}
	// A temperature register the "sensor" holds; the service reads it and
	// writes a configuration register back.
	smbusByte(t, bus, 0x48, 0x10, true, 0x5a)
	out := e.must("run", "--rm", "-u", "1000", "--group-add", "998", "--device", node+":/dev/i2c-1", "busybox", "sh", "-c",
		"i2cget -y 1 0x48 0x10 b && i2cset -y 1 0x48 0x11 0xa5 b")
	if strings.TrimSpace(out) != "0x5a" {
		t.Fatalf("register 0x10 read inside: got %q, want 0x5a", out)
	}
	if got := smbusByte(t, bus, 0x48, 0x11, false, 0); got != 0xa5 {
		t.Fatalf("register 0x11 written inside: the host reads %#x, want 0xa5", got)
	}
	r := e.run("run", "--rm", "-u", "1000", "--device", node+":/dev/i2c-1", "busybox", "i2cget", "-y", "1", "0x48", "0x10", "b")
	if r.code == 0 || !strings.Contains(r.stderr, "ermission denied") {
		t.Fatalf("user 1000 without the i2c group: want permission denied, got %s", r)
	}
}

// gpioChip finds a GPIO chip: its /dev path and its numbers.
func gpioChip(t *testing.T) (string, uint32, uint32) {
	t.Helper()
	chips, _ := filepath.Glob("/sys/bus/gpio/devices/gpiochip*/dev")
	for _, p := range chips {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var major, minor uint32
		if _, err := fmt.Sscanf(strings.TrimSpace(string(b)), "%d:%d", &major, &minor); err == nil {
			return "/dev/" + filepath.Base(filepath.Dir(p)), major, minor
		}
	}
	t.Skip("no GPIO chip here (the arm64 VM has qemu virt's PL061)")
	return "", 0, 0
}

func TestDeviceGPIOChipLineDrivenAndReadInside(t *testing.T) {
	t.Parallel()
	chip, major, minor := gpioChip(t)
	dev := fakeDevDir(t)
	e := newEnv(t)
	e.must("load", "-i", imagePath(t, "sensor"))
	// The chip as Raspberry Pi OS has it: root:gpio 0660 (gpio is 997).
	node := dev + "/" + filepath.Base(chip)
	mknod(t, node, major, minor)
	if err := os.Chown(node, 0, 997); err != nil {
		t.Fatal(err)
	}
	sensor := func(args ...string) string {
		return e.must(append([]string{"run", "--rm", "-u", "1000", "--group-add", "997", "--device", node + ":/dev/gpiochip0", "sensor", "gpio", "/dev/gpiochip0"}, args...)...)
	}
	var info struct {
		Label string
		Lines []struct {
			Offset int
			Used   bool
		}
	}
	if err := json.Unmarshal([]byte(sensor()), &info); err != nil {
		t.Fatal(err)
	}
	line := -1
	for _, l := range info.Lines {
		if !l.Used {
			line = l.Offset
			break
		}
	}
	if line < 0 {
		t.Skipf("every line of %s (%s) is in use", chip, info.Label)
	}
	// A relay driven high, then low: each read back through the chip.
	for _, v := range []string{"1", "0"} {
		var got struct{ Value int }
		if err := json.Unmarshal([]byte(sensor(strconv.Itoa(line), v)), &got); err != nil {
			t.Fatal(err)
		}
		if strconv.Itoa(got.Value) != v {
			t.Errorf("line %d of %s (%s) driven to %s inside: read back %d", line, chip, info.Label, v, got.Value)
		}
	}
	r := e.run("run", "--rm", "-u", "1000", "--device", node+":/dev/gpiochip0", "sensor", "gpio", "/dev/gpiochip0")
	if r.code == 0 || !strings.Contains(r.stderr, "permission denied") {
		t.Fatalf("user 1000 without the gpio group: want permission denied, got %s", r)
	}
}

// A rootless user who may open a device through a supplementary group (a
// serial port through dialout) keeps that group in the container with
// --group-add keep-groups, as with podman. make test-rootless makes such a
// group and device (EDGERUN_TEST_GROUP_DEVICE); as root the flag is refused.
func TestDeviceGroupAddKeepGroupsKeepsTheUsersGroups(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	if !testenv.Rootless() {
		r := e.run("run", "--rm", "--group-add", "keep-groups", "busybox", "true")
		want := "invalid run option: --group-add keep-groups keeps the groups of the user who runs rootless edgerun; as root, name the groups instead: --group-add GID"
		if r.code != 125 || !strings.Contains(r.stderr, want) {
			t.Fatalf("keep-groups as root: want exit 125 saying to name the groups, got %s", r)
		}
		return
	}
	r := e.run("run", "--rm", "--group-add", "keep-groups", "--group-add", "20", "busybox", "true")
	want := "invalid run option: --group-add keep-groups cannot be combined with other groups (20): the container keeps your own groups as they are"
	if r.code != 125 || !strings.Contains(r.stderr, want) {
		t.Fatalf("keep-groups with another group: want exit 125, got %s", r)
	}
	node := os.Getenv("EDGERUN_TEST_GROUP_DEVICE")
	if node == "" {
		t.Skip("no device of a supplementary group of this user (make test-rootless makes one: EDGERUN_TEST_GROUP_DEVICE)")
	}
	write := []string{"--device", node + ":/dev/sensor", "busybox", "sh", "-c", "echo reading >/dev/sensor && echo written"}
	out := e.must(append([]string{"run", "--rm", "--group-add", "keep-groups"}, write...)...)
	if !containsLine(out, "written") {
		t.Fatalf("keep-groups: the device of the user's group was not written: %q", out)
	}
	single := os.Getenv(testenv.RootlessMappingEnv) == "single"
	if !single {
		// Another user of the container, still in the user's groups.
		out = e.must(append([]string{"run", "--rm", "-u", "1000", "--group-add", "keep-groups"}, write...)...)
		if !containsLine(out, "written") {
			t.Fatalf("keep-groups as user 1000: the device of the user's group was not written: %q", out)
		}
		// Without it the container's groups are the image's: refused.
		r = e.run(append([]string{"run", "--rm"}, write...)...)
		if r.code == 0 || !strings.Contains(r.stderr, "ermission denied") {
			t.Fatalf("without keep-groups: want permission denied, got %s", r)
		}
	}
	// A detached container's exec keeps them too.
	e.must("run", "-d", "--name", "kept", "--group-add", "keep-groups", "--device", node+":/dev/sensor", "busybox", "sleep", "1000")
	t.Cleanup(func() { e.run("rm", "-f", "kept") })
	if out := e.must("exec", "kept", "sh", "-c", "echo reading >/dev/sensor && echo written"); !containsLine(out, "written") {
		t.Fatalf("exec in a keep-groups container: %q", out)
	}
	e.must("rm", "-f", "kept")
}
