package specgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// AnnotationDevices holds a container's DevicePlan (JSON) in its spec: the
// devices as the user named them, resolved again at every start and by
// hotplug while it runs (ApplyDevices, DesiredDevices).
const AnnotationDevices = "io.edgerun.devices"

// ErrDeviceMissing is wrapped by the error about a --device that is not
// there (not plugged in, or a stable link udev has not made).
var ErrDeviceMissing = errors.New("no such device")

// DevicePlan is what a container asked of the host's devices.
type DevicePlan struct {
	Devices []DeviceSpec `json:"devices,omitempty"`
	// Rules are --device-cgroup-rule, as given ("c 188:* rwm").
	Rules []string `json:"rules,omitempty"`
	// Restart is --restart-on-device: a device that comes back (or is
	// replaced) restarts the container instead of appearing in it.
	Restart bool `json:"restart,omitempty"`
	// Mirrored are the container paths of the nodes the rules matched at
	// the last ApplyDevices, so that the next one replaces them.
	Mirrored []string `json:"mirrored,omitempty"`
}

// Hotplug says whether a running container's devices follow the host's:
// it has a device rule, or a device whose node may come and go.
func (p *DevicePlan) Hotplug() bool {
	return p != nil && (len(p.Rules) > 0 || len(p.Devices) > 0)
}

// WatchDirs are the host directories whose changes can change what the
// container should see: each device's directory and its parents up to
// /dev (a by-id link's directory appears with its first device), and /dev
// itself for the rules.
func (p *DevicePlan) WatchDirs() []string {
	var out []string
	add := func(d string) {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if len(p.Rules) > 0 {
		add("/dev")
	}
	for _, d := range p.Devices {
		for dir := path.Dir(d.Host); ; dir = path.Dir(dir) {
			add(dir)
			if dir == "/dev" || dir == "/" || !strings.HasPrefix(dir, "/dev/") {
				break
			}
		}
	}
	return out
}

// PlanOf reads the device plan a spec carries; nil when it has none.
func PlanOf(s *specs.Spec) (*DevicePlan, error) {
	raw, ok := s.Annotations[AnnotationDevices]
	if !ok {
		return nil, nil
	}
	var p DevicePlan
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return nil, fmt.Errorf("the spec's device plan is corrupt: %w", err)
	}
	return &p, nil
}

func setPlan(s *specs.Spec, p *DevicePlan) {
	b, _ := json.Marshal(p) // plain strings and bools
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	s.Annotations[AnnotationDevices] = string(b)
}

// planDevices parses --device, --device-optional and --device-cgroup-rule
// (nothing on the host is read); nil when there are none.
func planDevices(opts *SpecOptions) (*DevicePlan, error) {
	p := &DevicePlan{Rules: opts.DeviceCgroupRules, Restart: opts.RestartOnDevice}
	for i, list := range [][]string{opts.Devices, opts.OptionalDevices} {
		for _, raw := range list {
			d, err := ParseDevice(raw)
			if err != nil {
				return nil, err
			}
			d.Optional = i == 1
			if slices.ContainsFunc(p.Devices, func(o DeviceSpec) bool { return o.Container == d.Container }) {
				return nil, fmt.Errorf("%w: --device %q: another device already goes to %s", ErrInvalidOption, raw, d.Container)
			}
			p.Devices = append(p.Devices, d)
		}
	}
	for _, raw := range opts.DeviceCgroupRules {
		if _, err := ParseDeviceCgroupRule(raw); err != nil {
			return nil, err
		}
	}
	if len(p.Rules) > 0 && opts.UserNS {
		return nil, fmt.Errorf("%w: --device-cgroup-rule: rootless containers have no device cgroup to give the rule to, "+
			"and cannot make device nodes: pass each device with --device, or run the container as root", ErrInvalidOption)
	}
	if p.Restart && len(p.Devices) == 0 {
		return nil, fmt.Errorf("%w: --restart-on-device needs a device to watch: add --device or --device-optional", ErrInvalidOption)
	}
	if len(p.Devices) == 0 && len(p.Rules) == 0 {
		return nil, nil
	}
	return p, nil
}

// ParseDeviceCgroupRule parses docker's --device-cgroup-rule: TYPE
// MAJOR:MINOR ACCESS, like "c 188:* rwm" (type c, b or a; a number or *
// for each of major and minor; access a combination of r, w and m).
func ParseDeviceCgroupRule(s string) (specs.LinuxDeviceCgroup, error) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return specs.LinuxDeviceCgroup{}, fmt.Errorf("%w: --device-cgroup-rule %q: want TYPE MAJOR:MINOR ACCESS, like 'c 188:* rwm'", ErrInvalidOption, s)
	}
	if f[0] != "c" && f[0] != "b" && f[0] != "a" {
		return specs.LinuxDeviceCgroup{}, fmt.Errorf("%w: --device-cgroup-rule %q: the type %q must be c (character), b (block) or a (all)", ErrInvalidOption, s, f[0])
	}
	majS, minS, ok := strings.Cut(f[1], ":")
	if !ok {
		return specs.LinuxDeviceCgroup{}, fmt.Errorf("%w: --device-cgroup-rule %q: want MAJOR:MINOR, like 188:*", ErrInvalidOption, s)
	}
	major, err := parseDeviceNumber(majS, 1<<12-1)
	if err != nil {
		return specs.LinuxDeviceCgroup{}, fmt.Errorf("%w: --device-cgroup-rule %q: the major %q must be * or a number up to 4095", ErrInvalidOption, s, majS)
	}
	minor, err := parseDeviceNumber(minS, 1<<20-1)
	if err != nil {
		return specs.LinuxDeviceCgroup{}, fmt.Errorf("%w: --device-cgroup-rule %q: the minor %q must be * or a number up to 1048575", ErrInvalidOption, s, minS)
	}
	if !isDevicePerms(f[2]) {
		return specs.LinuxDeviceCgroup{}, fmt.Errorf("%w: --device-cgroup-rule %q: the access %q must be a combination of r, w and m", ErrInvalidOption, s, f[2])
	}
	return specs.LinuxDeviceCgroup{Allow: true, Type: f[0], Major: major, Minor: minor, Access: f[2]}, nil
}

// parseDeviceNumber reads a major or minor: nil for *.
func parseDeviceNumber(s string, max int64) (*int64, error) {
	if s == "*" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > max {
		return nil, strconv.ErrRange
	}
	return &n, nil
}

func ruleMatches(r specs.LinuxDeviceCgroup, d specs.LinuxDevice) bool {
	return (r.Type == "a" || r.Type == d.Type) && (r.Major == nil || *r.Major == d.Major) && (r.Minor == nil || *r.Minor == d.Minor)
}

// resolveHost follows the links of a --device host path to its node and
// returns the node and its path without links. A path that passes
// through a link must end in /dev: a link elsewhere is refused. A missing
// node wraps ErrDeviceMissing. Whatever is bound of the device is bound
// from the returned path, never from d.Host again: a link swapped after
// this check must not be followed by the mount.
func resolveHost(d DeviceSpec) (specs.LinuxDevice, string, error) {
	real, err := filepath.EvalSymlinks(d.Host)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return specs.LinuxDevice{}, "", fmt.Errorf("%w: --device %s: %w", ErrInvalidOption, d.Host, ErrDeviceMissing)
		}
		return specs.LinuxDevice{}, "", fmt.Errorf("%w: --device %s: %w", ErrInvalidOption, d.Host, err)
	}
	if real != d.Host && !strings.HasPrefix(real, "/dev/") {
		return specs.LinuxDevice{}, "", fmt.Errorf("%w: --device %s: the link leads to %s, outside /dev: a device link must point to a node in /dev", ErrInvalidOption, d.Host, real)
	}
	var st unix.Stat_t
	if err := unix.Lstat(real, &st); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return specs.LinuxDevice{}, "", fmt.Errorf("%w: --device %s: %w", ErrInvalidOption, d.Host, ErrDeviceMissing)
		}
		return specs.LinuxDevice{}, "", fmt.Errorf("%w: --device %s: %w", ErrInvalidOption, d.Host, &os.PathError{Op: "stat", Path: real, Err: err})
	}
	dev, ok := deviceNode(d.Container, &st)
	if !ok {
		return specs.LinuxDevice{}, "", fmt.Errorf("%w: --device %s is not a character or block device: name a device node, like /dev/ttyUSB0", ErrInvalidOption, d.Host)
	}
	return dev, real, nil
}

// Desired is what a container should have of the host's devices now.
type Desired struct {
	Nodes []specs.LinuxDevice       // nodes to make in the container
	Rules []specs.LinuxDeviceCgroup // device cgroup rules after the spec's first (deny all)
	Binds []specs.Mount             // rootless: binds of the host's nodes instead
	// Missing are the optional devices that are not there.
	Missing []DeviceSpec
	// Mirrored are the container paths of Nodes that rules matched.
	Mirrored []string
}

// DesiredDevices resolves a plan against the host as it is now: each
// device's links are followed again, and the nodes directly in devDir
// (the host's /dev) that a rule matches are mirrored. A required device
// that is missing is an error wrapping ErrDeviceMissing.
func DesiredDevices(p *DevicePlan, devDir string, userNS bool) (*Desired, error) {
	out := &Desired{}
	if p == nil {
		return out, nil
	}
	for _, d := range p.Devices {
		dev, real, err := resolveHost(d)
		if errors.Is(err, ErrDeviceMissing) {
			if d.Optional {
				out.Missing = append(out.Missing, d)
				continue
			}
			return nil, fmt.Errorf("%w: plug it in, or pass it with --device-optional to start without it", err)
		}
		if err != nil {
			return nil, err
		}
		if userNS {
			if !strings.Contains(d.Permissions, "r") || !strings.Contains(d.Permissions, "w") {
				return nil, fmt.Errorf("%w: --device %s: rootless containers have no device cgroup, so access %q cannot be enforced: "+
					"give rw (the default), or run the container as root", ErrInvalidOption, d.Host, d.Permissions)
			}
			out.Binds = append(out.Binds, deviceBind(d, real))
			continue
		}
		major, minor := dev.Major, dev.Minor
		out.Rules = append(out.Rules, specs.LinuxDeviceCgroup{Allow: true, Type: dev.Type, Major: &major, Minor: &minor, Access: d.Permissions})
		if onDevpts(real) {
			// A pseudo-terminal (the virtual serial port of socat, ser2net
			// or a test's pty pair) opens only through its devpts: a node
			// made elsewhere gives EIO. It is bound, and allowed by number.
			out.Binds = append(out.Binds, deviceBind(d, real))
			continue
		}
		out.Nodes = append(out.Nodes, dev)
	}
	var rules []specs.LinuxDeviceCgroup
	for _, raw := range p.Rules {
		r, err := ParseDeviceCgroupRule(raw)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	out.Rules = append(out.Rules, rules...)
	if len(rules) > 0 && !userNS {
		for _, dev := range mirrorable(devDir) {
			if slices.ContainsFunc(out.Nodes, func(o specs.LinuxDevice) bool { return o.Path == dev.Path }) {
				continue
			}
			if slices.ContainsFunc(rules, func(r specs.LinuxDeviceCgroup) bool { return ruleMatches(r, dev) }) {
				out.Nodes = append(out.Nodes, dev)
				out.Mirrored = append(out.Mirrored, dev.Path)
			}
		}
	}
	return out, nil
}

// onDevpts says whether path (its links followed) is on a devpts file
// system: a pseudo-terminal's slave.
func onDevpts(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.DEVPTS_SUPER_MAGIC
}

// ownDevices are the nodes every container's /dev has of its own.
var ownDevices = []string{"console", "full", "null", "ptmx", "random", "tty", "urandom", "zero"}

// mirrorable lists the character and block devices directly in dir (the
// host's /dev), as nodes at the same path under /dev in the container.
func mirrorable(dir string) []specs.LinuxDevice {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []specs.LinuxDevice
	for _, e := range ents {
		if e.Type()&(fs.ModeDevice|fs.ModeCharDevice) == 0 || slices.Contains(ownDevices, e.Name()) {
			continue
		}
		var st unix.Stat_t
		if unix.Lstat(filepath.Join(dir, e.Name()), &st) != nil {
			continue
		}
		if dev, ok := deviceNode("/dev/"+e.Name(), &st); ok {
			out = append(out, dev)
		}
	}
	return out
}

// ApplyDevices (re)resolves the spec's device plan against the host and
// puts the result in the spec: the nodes and their cgroup rules (or, in a
// user namespace, binds), replacing what an earlier call put there. It is
// called when the spec is made and before every start, so a stable link
// (/dev/serial/by-id/...) gets the node it names at that start. It
// returns the optional devices that are missing.
func ApplyDevices(s *specs.Spec, devDir string, userNS bool) ([]DeviceSpec, error) {
	p, err := PlanOf(s)
	if err != nil || p == nil {
		return nil, err
	}
	want, err := DesiredDevices(p, devDir, userNS)
	if err != nil {
		return nil, err
	}
	managed := slices.Clone(p.Mirrored)
	for _, d := range p.Devices {
		managed = append(managed, d.Container)
	}
	l := s.Linux
	l.Devices = slices.DeleteFunc(l.Devices, func(d specs.LinuxDevice) bool { return slices.Contains(managed, d.Path) })
	if mountsDev(s.Mounts) {
		// /dev is the host's (-v /dev:/dev): its nodes are there already,
		// and a node made in it would be made on the host.
		want.Nodes, want.Mirrored = slices.DeleteFunc(want.Nodes, func(d specs.LinuxDevice) bool {
			return slices.Contains(want.Mirrored, d.Path)
		}), nil
	}
	l.Devices = append(l.Devices, want.Nodes...)
	if l.Resources != nil && len(l.Resources.Devices) > 0 {
		l.Resources.Devices = append(l.Resources.Devices[:1], want.Rules...)
	}
	s.Mounts = slices.DeleteFunc(s.Mounts, func(m specs.Mount) bool {
		return m.Type == "bind" && slices.Contains(managed, m.Destination) && slices.Contains(m.Options, "noexec") && isPlanned(p, m)
	})
	s.Mounts = append(s.Mounts, want.Binds...)
	p.Mirrored = want.Mirrored
	setPlan(s, p)
	return want.Missing, nil
}

// deviceBind binds a --device's host node, at real (its path without
// links, as resolveHost checked it), at its container path: what a
// rootless container gets instead of a node, and a pseudo-terminal always.
// ApplyDevices knows its binds by this shape (noexec, and a planned source).
func deviceBind(d DeviceSpec, real string) specs.Mount {
	return specs.Mount{Destination: d.Container, Type: "bind", Source: real, Options: []string{"bind", "nosuid", "noexec"}}
}

// isPlanned says whether m is the bind of a planned device: at its
// container path, from its host path as given (specs made before binds
// used the resolved path) or from the node a link of it led to in /dev.
func isPlanned(p *DevicePlan, m specs.Mount) bool {
	return slices.ContainsFunc(p.Devices, func(d DeviceSpec) bool {
		return d.Container == m.Destination && (d.Host == m.Source || strings.HasPrefix(m.Source, "/dev/"))
	})
}

func mountsDev(ms []specs.Mount) bool {
	return slices.ContainsFunc(ms, func(m specs.Mount) bool { return m.Destination == "/dev" && m.Type == "bind" })
}
