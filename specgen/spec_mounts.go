package specgen

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// MountSpec is one user mount from -v, --mount or --tmpfs.
type MountSpec struct {
	Type        string   // "bind" or "tmpfs"
	Source      string   // host path for bind, empty for tmpfs
	Destination string   // absolute path in the container
	ReadOnly    bool     //
	Options     []string // extra options: tmpfs size/mode/..., bind propagation
}

// ParseVolume parses -v/--volume SRC:DST[:OPTS], where OPTS is a comma
// list of ro, rw and a propagation mode. Only bind mounts of absolute host
// paths are supported; named volumes are not.
func ParseVolume(s string) (MountSpec, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return MountSpec{}, fmt.Errorf("%w: -v %q: want HOST-PATH:CONTAINER-PATH[:ro|rw]", ErrInvalidOption, s)
	}
	m := MountSpec{Type: "bind", Source: parts[0], Destination: parts[1]}
	if !path.IsAbs(m.Source) {
		return MountSpec{}, fmt.Errorf("%w: -v %q: named volumes are not supported: use an absolute host path", ErrInvalidOption, s)
	}
	if len(parts) == 3 {
		for opt := range strings.SplitSeq(parts[2], ",") {
			if err := m.bindOption(opt); err != nil {
				return MountSpec{}, fmt.Errorf("%w: -v %q: %w", ErrInvalidOption, s, err)
			}
		}
	}
	return m, m.validate("-v", s)
}

func (m *MountSpec) bindOption(opt string) error {
	switch opt {
	case "ro", "readonly":
		m.ReadOnly = true
	case "rw":
		m.ReadOnly = false
	case "private", "rprivate", "slave", "rslave", "shared", "rshared":
		m.Options = slices.DeleteFunc(m.Options, isPropagation)
		m.Options = append(m.Options, opt)
	default:
		return fmt.Errorf("unknown option %q: use ro, rw or a propagation mode (rprivate, rslave, rshared)", opt)
	}
	return nil
}

func isPropagation(o string) bool {
	return slices.Contains([]string{"private", "rprivate", "slave", "rslave", "shared", "rshared"}, o)
}

// ParseMount parses --mount type=bind|tmpfs,source=...,target=...,readonly
// (docker's key names and aliases).
func ParseMount(s string) (MountSpec, error) {
	m := MountSpec{Type: "bind"}
	for field := range strings.SplitSeq(s, ",") {
		k, v, hasValue := strings.Cut(field, "=")
		var err error
		switch strings.ToLower(k) {
		case "type":
			m.Type = v
		case "source", "src":
			m.Source = v
		case "target", "destination", "dst":
			m.Destination = v
		case "readonly", "ro":
			m.ReadOnly, err = parseBoolOption(v, hasValue)
		case "bind-propagation":
			err = m.bindOption(v)
		case "tmpfs-size":
			m.Options = append(m.Options, "size="+v)
		case "tmpfs-mode":
			m.Options = append(m.Options, "mode="+v)
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return MountSpec{}, fmt.Errorf("%w: --mount %q: %w", ErrInvalidOption, s, err)
		}
	}
	switch m.Type {
	case "bind":
		if !path.IsAbs(m.Source) {
			return MountSpec{}, fmt.Errorf("%w: --mount %q: a bind mount needs source= with an absolute host path", ErrInvalidOption, s)
		}
	case "tmpfs":
		if m.Source != "" {
			return MountSpec{}, fmt.Errorf("%w: --mount %q: a tmpfs mount takes no source", ErrInvalidOption, s)
		}
		opts, err := tmpfsOptions(m.Options)
		if err != nil {
			return MountSpec{}, fmt.Errorf("%w: --mount %q: %w", ErrInvalidOption, s, err)
		}
		m.Options = opts
	default:
		return MountSpec{}, fmt.Errorf("%w: --mount %q: type %q is not supported: use type=bind or type=tmpfs", ErrInvalidOption, s, m.Type)
	}
	return m, m.validate("--mount", s)
}

func parseBoolOption(v string, hasValue bool) (bool, error) {
	switch {
	case !hasValue, v == "1", v == "true":
		return true, nil
	case v == "0", v == "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", v)
}

// ParseTmpfs parses --tmpfs /path[:opts], opts being mount(8) tmpfs options.
func ParseTmpfs(s string) (MountSpec, error) {
	dst, opts, _ := strings.Cut(s, ":")
	m := MountSpec{Type: "tmpfs", Destination: dst}
	var list []string
	if opts != "" {
		list = strings.Split(opts, ",")
	}
	o, err := tmpfsOptions(list)
	if err != nil {
		return MountSpec{}, fmt.Errorf("%w: --tmpfs %q: %w", ErrInvalidOption, s, err)
	}
	m.Options = o
	for _, opt := range o {
		if opt == "ro" {
			m.ReadOnly = true
		}
	}
	m.Options = slices.DeleteFunc(m.Options, func(o string) bool { return o == "ro" || o == "rw" })
	return m, m.validate("--tmpfs", s)
}

// tmpfsOptions checks tmpfs options and adds the defaults noexec, nosuid
// and nodev unless the user asked for exec, suid or dev.
func tmpfsOptions(opts []string) ([]string, error) {
	out := []string{"noexec", "nosuid", "nodev"}
	for _, o := range opts {
		k, v, hasValue := strings.Cut(o, "=")
		switch {
		case !hasValue && slices.Contains([]string{"ro", "rw", "noexec", "nosuid", "nodev", "noatime", "relatime", "strictatime"}, k):
		case !hasValue && (k == "exec" || k == "suid" || k == "dev"):
			out = slices.DeleteFunc(out, func(d string) bool { return d == "no"+k })
			continue
		case hasValue && v != "" && slices.Contains([]string{"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks"}, k):
			if strings.ContainsAny(v, ", ") {
				return nil, fmt.Errorf("bad value in tmpfs option %q", o)
			}
		default:
			return nil, fmt.Errorf("unsupported tmpfs option %q", o)
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}

// reservedDirs are where the runtime mounts kernel file systems; users may
// not mount onto them or below them.
var reservedDirs = []string{"/proc", "/sys", "/dev"}

// checkDestination refuses relative, unclean and reserved destinations.
func checkDestination(dst string) error {
	if !path.IsAbs(dst) {
		return fmt.Errorf("destination %q is not an absolute path", dst)
	}
	if path.Clean(dst) != dst && path.Clean(dst)+"/" != dst {
		return fmt.Errorf("destination %q is not a clean path: write it as %q", dst, path.Clean(dst))
	}
	dst = path.Clean(dst)
	if dst == "/" {
		return fmt.Errorf("cannot mount over the container's root /")
	}
	for _, r := range reservedDirs {
		if dst == r || strings.HasPrefix(dst, r+"/") {
			return fmt.Errorf("destination %q is in %s, which the runtime manages: mount elsewhere (use --device for device nodes)", dst, r)
		}
	}
	return nil
}

func (m *MountSpec) validate(flag, raw string) error {
	if strings.ContainsRune(m.Destination, 0) || strings.ContainsRune(m.Source, 0) {
		return fmt.Errorf("%w: %s %q: path contains a NUL byte", ErrInvalidOption, flag, raw)
	}
	if err := checkDestination(m.Destination); err != nil {
		return fmt.Errorf("%w: %s %q: %w", ErrInvalidOption, flag, raw, err)
	}
	m.Destination = path.Clean(m.Destination)
	if m.Source != "" {
		m.Source = path.Clean(m.Source)
	}
	return nil
}

// toSpec converts the mount to a runtime-spec mount.
func (m MountSpec) toSpec() specs.Mount {
	ro := "rw"
	if m.ReadOnly {
		ro = "ro"
	}
	if m.Type == "tmpfs" {
		return specs.Mount{Destination: m.Destination, Type: "tmpfs", Source: "tmpfs",
			Options: append([]string{ro}, m.Options...)}
	}
	opts := []string{"rbind", ro}
	if !slices.ContainsFunc(m.Options, isPropagation) {
		opts = append(opts, "rprivate")
	}
	return specs.Mount{Destination: m.Destination, Type: "bind", Source: m.Source, Options: append(opts, m.Options...)}
}

// defaultMounts are the kernel file systems every container gets.
func defaultMounts(privileged, cgroupNS bool) []specs.Mount {
	sysOpts := []string{"nosuid", "noexec", "nodev", "ro"}
	if privileged {
		sysOpts[3] = "rw"
	}
	cgroupOpts := []string{"nosuid", "noexec", "nodev", "relatime", "ro"}
	if privileged && cgroupNS {
		cgroupOpts[4] = "rw"
	}
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts",
			Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: sysOpts},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: cgroupOpts},
	}
}

// sortMounts orders user mounts so that a parent is mounted before the
// mounts below it, keeping the given order otherwise.
func sortMounts(ms []MountSpec) {
	slices.SortStableFunc(ms, func(a, b MountSpec) int {
		return strings.Count(a.Destination, "/") - strings.Count(b.Destination, "/")
	})
}

// checkBindSource refuses bind mounts of host paths that do not exist;
// edgerun does not create them, so a typo does not leave a new directory.
func checkBindSource(m MountSpec) error {
	if m.Type != "bind" {
		return nil
	}
	if _, err := os.Stat(m.Source); err != nil {
		return fmt.Errorf("%w: bind mount source %s: %w: create it first or fix the path", ErrInvalidOption, m.Source, err)
	}
	return nil
}
