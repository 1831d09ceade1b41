package specgen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseDeviceCgroupRule(t *testing.T) {
	tests := []struct {
		in, wantErr string
		typ         string
		major       *int64
	}{
		{in: "c 188:* rwm", typ: "c", major: ptrTo(int64(188))},
		{in: "b *:* r", typ: "b"},
		{in: "a *:* rwm", typ: "a"},
		{in: "c 89:1 rw", typ: "c", major: ptrTo(int64(89))},
		{in: "x 188:* rwm", wantErr: "must be c (character), b (block) or a (all)"},
		{in: "c 4096:* rwm", wantErr: "the major \"4096\" must be * or a number up to 4095"},
		{in: "c -1:* rwm", wantErr: "the major"},
		{in: "c 188:1048576 rwm", wantErr: "the minor"},
		{in: "c 188 rwm", wantErr: "want MAJOR:MINOR"},
		{in: "c 188:* rwx", wantErr: "combination of r, w and m"},
		{in: "c 188:*", wantErr: "want TYPE MAJOR:MINOR ACCESS"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseDeviceCgroupRule(tt.in)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr != "" {
				return
			}
			if r.Type != tt.typ || (r.Major == nil) != (tt.major == nil) || (r.Major != nil && *r.Major != *tt.major) || !r.Allow {
				t.Fatalf("ParseDeviceCgroupRule(%q) = %+v", tt.in, r)
			}
		})
	}
}

func TestResolveHostFollowsLinksOnlyIntoDev(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "zero-link")
	if err := os.Symlink("/dev/zero", in); err != nil {
		t.Fatal(err)
	}
	dev, _, err := resolveHost(DeviceSpec{Host: in, Container: "/dev/z", Permissions: "r"})
	if err != nil || dev.Type != "c" || dev.Major != 1 || dev.Minor != 5 || dev.Path != "/dev/z" {
		t.Fatalf("a link to /dev/zero: %+v, %v", dev, err)
	}
	out := filepath.Join(dir, "passwd-link")
	if err := os.Symlink("/etc/passwd", out); err != nil {
		t.Fatal(err)
	}
	if _, _, err := resolveHost(DeviceSpec{Host: out, Container: "/dev/x"}); err == nil || !strings.Contains(err.Error(), "outside /dev") {
		t.Fatalf("a link out of /dev: %v", err)
	}
	if _, _, err := resolveHost(DeviceSpec{Host: "/etc/passwd", Container: "/dev/x"}); err == nil || !strings.Contains(err.Error(), "not a character or block device") {
		t.Fatalf("a regular file: %v", err)
	}
	dangling := filepath.Join(dir, "gone")
	if err := os.Symlink("/dev/edgerun-no-such-device", dangling); err != nil {
		t.Fatal(err)
	}
	if _, _, err := resolveHost(DeviceSpec{Host: dangling, Container: "/dev/x"}); !errors.Is(err, ErrDeviceMissing) {
		t.Fatalf("a dangling link: %v", err)
	}
}

func TestApplyDevicesResolvesAgainAndLeavesOutOptional(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "sensor")
	if err := os.Symlink("/dev/zero", link); err != nil {
		t.Fatal(err)
	}
	opts := &SpecOptions{Devices: []string{link + ":/dev/sensor:rw"}, OptionalDevices: []string{filepath.Join(dir, "absent") + ":/dev/opt"}}
	p, err := planDevices(opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &specs.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Access: "rwm"}}}}}
	setPlan(s, p)
	missing, err := ApplyDevices(s, dir, false)
	if err != nil || len(missing) != 1 || missing[0].Container != "/dev/opt" {
		t.Fatalf("first apply: missing %+v, %v", missing, err)
	}
	if len(s.Linux.Devices) != 1 || s.Linux.Devices[0].Minor != 5 || len(s.Linux.Resources.Devices) != 2 {
		t.Fatalf("first apply: %+v %+v", s.Linux.Devices, s.Linux.Resources.Devices)
	}
	// The link now names another device: the next start gets that one.
	_ = os.Remove(link)
	if err := os.Symlink("/dev/null", link); err != nil {
		t.Fatal(err)
	}
	if _, err := ApplyDevices(s, dir, false); err != nil {
		t.Fatal(err)
	}
	if len(s.Linux.Devices) != 1 || s.Linux.Devices[0].Minor != 3 || len(s.Linux.Resources.Devices) != 2 || *s.Linux.Resources.Devices[1].Minor != 3 {
		t.Fatalf("second apply: %+v %+v", s.Linux.Devices, s.Linux.Resources.Devices)
	}
	_ = os.Remove(link)
	if _, err := ApplyDevices(s, dir, false); !errors.Is(err, ErrDeviceMissing) || !strings.Contains(err.Error(), "--device-optional") {
		t.Fatalf("a required device gone: %v", err)
	}
}

func TestPlanDevicesRefusals(t *testing.T) {
	for name, tt := range map[string]struct {
		opts SpecOptions
		want string
	}{
		"rule rootless":  {SpecOptions{DeviceCgroupRules: []string{"c 188:* rwm"}, UserNS: true}, "rootless containers have no device cgroup"},
		"bad rule":       {SpecOptions{DeviceCgroupRules: []string{"q 1:1 r"}}, "the type"},
		"restart alone":  {SpecOptions{RestartOnDevice: true}, "needs a device to watch"},
		"same container": {SpecOptions{Devices: []string{"/dev/zero:/dev/x"}, OptionalDevices: []string{"/dev/null:/dev/x"}}, "already goes to /dev/x"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := planDevices(&tt.opts)
			checkErr(t, err, tt.want)
		})
	}
}

func TestWatchDirs(t *testing.T) {
	p := &DevicePlan{Devices: []DeviceSpec{{Host: "/dev/serial/by-id/usb-FTDI"}, {Host: "/dev/i2c-1"}}}
	got := strings.Join(p.WatchDirs(), " ")
	if got != "/dev/serial/by-id /dev/serial /dev" {
		t.Fatalf("WatchDirs = %q", got)
	}
}

func TestDesiredDevicesBindsAPseudoTerminal(t *testing.T) {
	slave, n := ptySlave(t)
	want, err := DesiredDevices(&DevicePlan{Devices: []DeviceSpec{{Host: slave, Container: "/dev/ttyUSB0", Permissions: "rwm"}}}, t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Nodes) != 0 {
		t.Errorf("a pty slave made as a node (it would give EIO): %+v", want.Nodes)
	}
	if len(want.Binds) != 1 || want.Binds[0].Source != slave || want.Binds[0].Destination != "/dev/ttyUSB0" {
		t.Errorf("a pty slave: want it bound at /dev/ttyUSB0, got %+v", want.Binds)
	}
	if len(want.Rules) != 1 || want.Rules[0].Major == nil || *want.Rules[0].Major < 136 || *want.Rules[0].Major > 143 || want.Rules[0].Minor == nil || *want.Rules[0].Minor != int64(n) {
		t.Errorf("a pty slave: want its numbers allowed, got %+v", want.Rules)
	}
}

// A pty named through a link is bound from the node the link led to when
// it was checked: the mount must not follow the link again (it may have
// been swapped for a link to a host file since).
func TestDesiredDevicesBindsTheCheckedNodeNotTheLink(t *testing.T) {
	slave, _ := ptySlave(t)
	link := filepath.Join(t.TempDir(), "serial")
	if err := os.Symlink(slave, link); err != nil {
		t.Fatal(err)
	}
	for _, userNS := range []bool{false, true} {
		want, err := DesiredDevices(&DevicePlan{Devices: []DeviceSpec{{Host: link, Container: "/dev/ttyUSB0", Permissions: "rwm"}}}, t.TempDir(), userNS)
		if err != nil {
			t.Fatal(err)
		}
		if len(want.Binds) != 1 || want.Binds[0].Source != slave {
			t.Errorf("userNS %v: want the bind from %s (the checked node), got %+v", userNS, slave, want.Binds)
		}
		if !isPlanned(&DevicePlan{Devices: []DeviceSpec{{Host: link, Container: "/dev/ttyUSB0"}}}, want.Binds[0]) {
			t.Errorf("userNS %v: ApplyDevices would not know its own bind %+v", userNS, want.Binds[0])
		}
	}
}

// ptySlave opens a pseudo-terminal for the test and returns its slave's
// path and number; it skips where there are none.
func ptySlave(t *testing.T) (string, int) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("/dev/pts/%d", n), n
}
