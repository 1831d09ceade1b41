package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	devices "github.com/opencontainers/cgroups/devices/config"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/rootless"
	"github.com/edgerun/edgerun/specgen"
)

// DevicesCommand is the hidden first argument a C monitor runs the binary
// with when a watched device directory changed (relay/relay.c):
//
//	edgerun-dev __devices ROOT STATE ID
//
// The process makes the running container's device nodes what the host
// has now (devices sync) and exits: hotplug costs the monitor an inotify
// descriptor, and this process only while it runs.
const DevicesCommand = "__devices"

// DevicesMain is that process; it returns 0, or 1 when it failed.
func DevicesMain(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "edgerun: device sync is run by a container's monitor, not by hand")
		return 2
	}
	r := &Runtime{cfg: Config{Root: args[0], State: args[1], BootIDFile: os.Getenv(BootIDFileEnv), Rootless: rootless.Inside(),
		Events: events.Open(args[0], events.Options{})}}
	if err := r.syncDevices(context.Background(), args[2]); err != nil {
		fmt.Fprintf(os.Stderr, "edgerun: devices of %s: %v\n", args[2], err)
		return 1
	}
	return 0
}

// hotplugDirs are the host directories a running container's monitor
// watches for its devices; nil when it has none to follow.
func (r *Runtime) hotplugDirs(id string) []string {
	if r.cfg.Rootless {
		return nil // binds of the nodes: no device cgroup, no mknod
	}
	spec, err := r.loadSpec(id)
	if err != nil {
		return nil
	}
	p, err := specgen.PlanOf(spec)
	if err != nil || !p.Hotplug() {
		return nil
	}
	return p.WatchDirs()
}

// syncDevices makes the device nodes in the running container id what
// its device plan resolves to now: a node that appeared or changed its
// numbers is made (and allowed in the device cgroup), one that went is
// removed. With --restart-on-device a device that came back restarts the
// container instead.
func (r *Runtime) syncDevices(ctx context.Context, id string) error {
	lock, err := r.lockContainer(ctx, id)
	if err != nil {
		return err
	}
	restart, rec, err := r.syncDevicesLocked(id)
	if restart && err == nil {
		rec.HealthRestart = true // the monitor starts it again, whatever the policy
		err = r.saveRecord(rec)
	}
	r.unlock(lock, id)
	if restart && err == nil {
		r.signalEvent(rec, r.stopSignal(rec.ID))
		if !r.waitStopped(ctx, rec, rec.stopWait()) {
			r.signalEvent(rec, unix.SIGKILL)
		}
	}
	return err
}

func (r *Runtime) syncDevicesLocked(id string) (bool, *Record, error) {
	rec, err := r.loadRecord(id)
	if err != nil || rec.State != StateRunning || rec.Pid <= 0 || rec.Paused {
		return false, rec, nil
	}
	spec, err := r.loadSpec(id)
	if err != nil {
		return false, rec, err
	}
	p, err := specgen.PlanOf(spec)
	if err != nil || !p.Hotplug() {
		return false, rec, err
	}
	want, err := specgen.DesiredDevices(&specgen.DevicePlan{Devices: optional(p.Devices), Rules: p.Rules}, "/dev", false)
	if err != nil {
		return false, rec, err
	}
	dev, err := openContainerDev(rec.Pid)
	if err != nil {
		return false, rec, err
	}
	defer unix.Close(dev)
	if p.Restart {
		for _, d := range p.Devices {
			i := slices.IndexFunc(want.Nodes, func(n specs.LinuxDevice) bool { return n.Path == d.Container })
			if i >= 0 && !nodeIs(dev, want.Nodes[i]) {
				return true, rec, nil
			}
		}
	}
	var errs []error
	if err := r.allowDevices(id, want.Rules); err != nil {
		errs = append(errs, err)
	}
	for _, n := range want.Nodes {
		if err := makeNode(dev, n); err != nil {
			errs = append(errs, err)
		}
	}
	// Gone: the nodes of the plan's devices that are missing, and mirrored
	// nodes no rule finds on the host any more.
	for _, d := range want.Missing {
		removeNode(dev, d.Container)
	}
	rules := make([]specs.LinuxDeviceCgroup, 0, len(p.Rules))
	for _, raw := range p.Rules {
		if rule, err := specgen.ParseDeviceCgroupRule(raw); err == nil {
			rules = append(rules, rule)
		}
	}
	planned := func(path string) bool {
		return slices.ContainsFunc(p.Devices, func(d specgen.DeviceSpec) bool { return d.Container == path }) ||
			slices.ContainsFunc(want.Nodes, func(n specs.LinuxDevice) bool { return n.Path == path }) ||
			slices.ContainsFunc(spec.Linux.Devices, func(n specs.LinuxDevice) bool { return n.Path == path && !slices.Contains(p.Mirrored, path) })
	}
	for _, n := range nodesIn(dev) {
		if !planned(n.Path) && slices.ContainsFunc(rules, func(rule specs.LinuxDeviceCgroup) bool { return ruleCovers(rule, n) }) {
			removeNode(dev, n.Path)
		}
	}
	return false, rec, errors.Join(errs...)
}

// optional marks every device optional: while the container runs, a
// device that went is removed, not an error.
func optional(ds []specgen.DeviceSpec) []specgen.DeviceSpec {
	out := slices.Clone(ds)
	for i := range out {
		out[i].Optional = true
	}
	return out
}

func ruleCovers(r specs.LinuxDeviceCgroup, d specs.LinuxDevice) bool {
	return (r.Type == "a" || r.Type == d.Type) && (r.Major == nil || *r.Major == d.Major) && (r.Minor == nil || *r.Minor == d.Minor)
}

// allowDevices adds to the container's device cgroup the rules it lacks
// (a --device that came back with other numbers): libcontainer's Set
// rewrites devices.allow (v1) or the eBPF filter (v2).
func (r *Runtime) allowDevices(id string, rules []specs.LinuxDeviceCgroup) error {
	c := r.loadLibcontainer(id)
	if c == nil {
		return fmt.Errorf("container %s has no runtime state", id)
	}
	cfg := c.Config()
	if cfg.Cgroups == nil || cfg.Cgroups.Resources == nil {
		return nil
	}
	changed := false
	for _, rule := range rules {
		d := toLibcontainerRule(rule)
		if !slices.ContainsFunc(cfg.Cgroups.Devices, func(o *devices.Rule) bool { return *o == *d }) {
			cfg.Cgroups.Devices = append(cfg.Cgroups.Devices, d)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := c.Set(cfg); err != nil {
		return fmt.Errorf("allow the device in the container's device cgroup: %w", err)
	}
	return nil
}

func toLibcontainerRule(r specs.LinuxDeviceCgroup) *devices.Rule {
	d := &devices.Rule{Type: devices.Type(r.Type[0]), Major: devices.Wildcard, Minor: devices.Wildcard,
		Permissions: devices.Permissions(r.Access), Allow: r.Allow}
	if r.Major != nil {
		d.Major = *r.Major
	}
	if r.Minor != nil {
		d.Minor = *r.Minor
	}
	return d
}

// openContainerDev opens the container's /dev through its init's root,
// refusing a /dev that is the host's (-v /dev:/dev), where a node made
// would be made on the host. Every later step is relative to this
// descriptor and follows no link.
func openContainerDev(pid int) (int, error) {
	root, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/root", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open the container's root: %w", err)
	}
	defer unix.Close(root)
	dev, err := unix.Openat2(root, "dev", &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_BENEATH})
	if err != nil {
		return -1, fmt.Errorf("open the container's /dev: %w", err)
	}
	var in, host unix.Stat_t
	if unix.Fstat(dev, &in) != nil || unix.Stat("/dev", &host) != nil || in.Dev == host.Dev {
		unix.Close(dev)
		return -1, errors.New("the container's /dev is the host's: its nodes are there already")
	}
	return dev, nil
}

// parentOf opens the directory of a container path under /dev (made when
// missing), by name, following no link; it returns the node's name in it.
func parentOf(dev int, path string, create bool) (int, string, error) {
	rel := strings.TrimPrefix(path, "/dev/")
	if rel == path || rel == "" {
		return -1, "", fmt.Errorf("%s is not in /dev", path)
	}
	parts := strings.Split(rel, "/")
	fd, err := unix.Dup(dev)
	if err != nil {
		return -1, "", err
	}
	for _, p := range parts[:len(parts)-1] {
		if create {
			_ = unix.Mkdirat(fd, p, 0o755)
		}
		next, err := unix.Openat(fd, p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return -1, "", fmt.Errorf("%s: %w", path, err)
		}
		fd = next
	}
	var st, top unix.Stat_t
	if unix.Fstat(fd, &st) != nil || unix.Fstat(dev, &top) != nil || st.Dev != top.Dev {
		unix.Close(fd)
		return -1, "", fmt.Errorf("%s: its directory is a mount of its own: left alone", path)
	}
	return fd, parts[len(parts)-1], nil
}

// nodeIs says whether the container has n at its path: same type and numbers.
func nodeIs(dev int, n specs.LinuxDevice) bool {
	dir, name, err := parentOf(dev, n.Path, false)
	if err != nil {
		return false
	}
	defer unix.Close(dir)
	var st unix.Stat_t
	if unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == nodeType(n) && st.Rdev == unix.Mkdev(uint32(n.Major), uint32(n.Minor))
}

func nodeType(n specs.LinuxDevice) uint32 {
	if n.Type == "b" {
		return unix.S_IFBLK
	}
	return unix.S_IFCHR
}

// makeNode makes n in the container, replacing a node of other numbers,
// and gives it the host node's owner and mode.
func makeNode(dev int, n specs.LinuxDevice) error {
	dir, name, err := parentOf(dev, n.Path, true)
	if err != nil {
		return err
	}
	defer unix.Close(dir)
	rdev := unix.Mkdev(uint32(n.Major), uint32(n.Minor))
	var st unix.Stat_t
	if err := unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		typ := st.Mode & unix.S_IFMT
		if typ != unix.S_IFCHR && typ != unix.S_IFBLK {
			return fmt.Errorf("%s in the container is not a device node: left alone", n.Path)
		}
		if typ != nodeType(n) || st.Rdev != rdev {
			if err := unix.Unlinkat(dir, name, 0); err != nil {
				return fmt.Errorf("replace %s: %w", n.Path, err)
			}
		}
	}
	mode := uint32(0o600)
	if n.FileMode != nil {
		mode = uint32(n.FileMode.Perm())
	}
	if err := unix.Mknodat(dir, name, nodeType(n)|mode, int(rdev)); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("make %s: %w", n.Path, err)
	}
	uid, gid := -1, -1
	if n.UID != nil {
		uid = int(*n.UID)
	}
	if n.GID != nil {
		gid = int(*n.GID)
	}
	if err := unix.Fchownat(dir, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown %s: %w", n.Path, err)
	}
	// The mode as the host has it now (udev sets it after the node
	// appears), through a descriptor of the node itself, not its name.
	fd, err := unix.Openat(dir, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("chmod %s: %w", n.Path, err)
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != nodeType(n) {
		return fmt.Errorf("chmod %s: it changed meanwhile", n.Path)
	}
	if st.Mode&0o7777 != mode {
		if err := unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode); err != nil {
			return fmt.Errorf("chmod %s: %w", n.Path, err)
		}
	}
	return nil
}

// removeNode removes the device node at path in the container, if it is one.
func removeNode(dev int, path string) {
	dir, name, err := parentOf(dev, path, false)
	if err != nil {
		return
	}
	defer unix.Close(dir)
	var st unix.Stat_t
	if unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return
	}
	if t := st.Mode & unix.S_IFMT; t == unix.S_IFCHR || t == unix.S_IFBLK {
		_ = unix.Unlinkat(dir, name, 0)
	}
}

// nodesIn lists the device nodes directly in the container's /dev.
func nodesIn(dev int) []specs.LinuxDevice {
	fd, err := unix.Openat(dev, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), "dev")
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	var out []specs.LinuxDevice
	for _, name := range names {
		var st unix.Stat_t
		if unix.Fstatat(dev, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
			continue
		}
		t := st.Mode & unix.S_IFMT
		if t != unix.S_IFCHR && t != unix.S_IFBLK {
			continue
		}
		typ := "c"
		if t == unix.S_IFBLK {
			typ = "b"
		}
		if slices.Contains([]string{"console", "full", "null", "ptmx", "random", "tty", "urandom", "zero"}, name) {
			continue
		}
		out = append(out, specs.LinuxDevice{Path: "/dev/" + name, Type: typ, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev))})
	}
	return out
}
