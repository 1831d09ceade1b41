package specgen

import (
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/edgerun/edgerun/internal/ids"
)

// MountSpec is one user mount from -v, --mount or --tmpfs.
type MountSpec struct {
	Type        string   // "bind", "volume" or "tmpfs"
	Source      string   // host path for bind, volume name for volume, empty for tmpfs
	Destination string   // absolute path in the container
	ReadOnly    bool     //
	Options     []string // extra options: tmpfs size/mode/..., bind propagation
	// NoCopy (volumes only: -v's nocopy, --mount's volume-nocopy) keeps
	// the image's content at Destination out of a new volume.
	NoCopy bool
}

// ParseVolume parses -v/--volume SRC:DST[:OPTS], where OPTS is a comma
// list of ro, rw, a propagation mode and (for volumes) nocopy. SRC is an
// absolute host path (a bind mount) or the name of a named volume; a
// relative host path must have been made absolute first (AbsVolumePaths).
func ParseVolume(s string) (MountSpec, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return MountSpec{}, fmt.Errorf("%w: -v %q: want HOST-PATH:CONTAINER-PATH[:ro|rw] or VOLUME-NAME:CONTAINER-PATH[:ro|rw]", ErrInvalidOption, s)
	}
	m := MountSpec{Type: "bind", Source: parts[0], Destination: parts[1]}
	if err := m.classifySource(); err != nil {
		return MountSpec{}, fmt.Errorf("%w: -v %q: %w", ErrInvalidOption, s, err)
	}
	if len(parts) == 3 {
		for opt := range strings.SplitSeq(parts[2], ",") {
			if err := m.bindOption(opt); err != nil {
				return MountSpec{}, fmt.Errorf("%w: -v %q: %w", ErrInvalidOption, s, err)
			}
		}
	}
	if m.Type == "volume" && slices.ContainsFunc(m.Options, isPropagation) {
		return MountSpec{}, fmt.Errorf("%w: -v %q: a propagation mode is for bind mounts, not named volumes", ErrInvalidOption, s)
	}
	return m, m.validate("-v", s)
}

// classifySource tells a -v source's kind: an absolute path is a bind
// mount, a name a named volume. A relative path reaching here was not
// resolved by the caller (AbsVolumePaths).
func (m *MountSpec) classifySource() error {
	switch {
	case path.IsAbs(m.Source):
		return nil
	case m.Source == "":
		return fmt.Errorf("the source is empty: give a host path (/srv/data, ./data) or a volume name")
	case isRelativeHostPath(m.Source):
		return fmt.Errorf("%q is a relative host path that was not resolved against a working directory", m.Source)
	}
	m.Type = "volume"
	return ids.CheckVolumeName(m.Source)
}

// isRelativeHostPath tells a relative host path from a volume name the way
// docker (23.0 and later) does for ./x and ../x, and also for dir/sub,
// which can never be a volume name: a source starting with '.' or holding
// a '/'. "~" is left to the shell, as docker does.
func isRelativeHostPath(src string) bool {
	return !path.IsAbs(src) && (strings.HasPrefix(src, ".") || strings.Contains(src, "/"))
}

// AbsVolumePaths returns -v values with relative host sources (./x, ../x,
// dir/sub) made absolute against dir, the caller's working directory, and
// cleaned; other values are returned as given. It only computes: the
// caller reads its working directory, and ParseVolume checks the result.
func AbsVolumePaths(vols []string, dir string) ([]string, error) {
	if !path.IsAbs(dir) {
		return nil, fmt.Errorf("%w: working directory %q is not absolute", ErrInvalidOption, dir)
	}
	out := make([]string, len(vols))
	for i, v := range vols {
		src, rest, ok := strings.Cut(v, ":")
		if !ok || !isRelativeHostPath(src) {
			out[i] = v
			continue
		}
		out[i] = path.Join(dir, src) + ":" + rest
	}
	return out, nil
}

func (m *MountSpec) bindOption(opt string) error {
	switch opt {
	case "ro", "readonly":
		m.ReadOnly = true
	case "rw":
		m.ReadOnly = false
	case "nocopy":
		if m.Type != "volume" {
			return fmt.Errorf("option nocopy is for named volumes, not bind mounts")
		}
		m.NoCopy = true
	case "private", "rprivate", "slave", "rslave", "shared", "rshared":
		m.Options = slices.DeleteFunc(m.Options, isPropagation)
		m.Options = append(m.Options, opt)
	default:
		return fmt.Errorf("unknown option %q: use ro, rw, a propagation mode (rprivate, rslave, rshared) or, for a volume, nocopy", opt)
	}
	return nil
}

func isPropagation(o string) bool {
	return slices.Contains([]string{"private", "rprivate", "slave", "rslave", "shared", "rshared"}, o)
}

// ParseMount parses --mount type=bind|volume|tmpfs,source=...,target=...,readonly
// (docker's key names and aliases). A volume needs source=NAME: edgerun
// has no anonymous volumes.
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
			if !isPropagation(v) {
				err = fmt.Errorf("bind-propagation %q: use rprivate, rslave, rshared, private, slave or shared", v)
			} else {
				err = m.bindOption(v)
			}
		case "volume-nocopy":
			m.NoCopy, err = parseBoolOption(v, hasValue)
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
	if err := m.checkMountType(); err != nil {
		return MountSpec{}, fmt.Errorf("%w: --mount %q: %w", ErrInvalidOption, s, err)
	}
	return m, m.validate("--mount", s)
}

// checkMountType checks --mount's source and options against its type.
func (m *MountSpec) checkMountType() error {
	if m.NoCopy && m.Type != "volume" {
		return fmt.Errorf("volume-nocopy is for type=volume")
	}
	switch m.Type {
	case "bind":
		if !path.IsAbs(m.Source) {
			return fmt.Errorf("a bind mount needs source= with an absolute host path")
		}
	case "volume":
		if m.Source == "" {
			return fmt.Errorf("a volume mount needs source=NAME: edgerun has no anonymous volumes")
		}
		if slices.ContainsFunc(m.Options, isPropagation) {
			return fmt.Errorf("bind-propagation is for type=bind")
		}
		return ids.CheckVolumeName(m.Source)
	case "tmpfs":
		if m.Source != "" {
			return fmt.Errorf("a tmpfs mount takes no source")
		}
		opts, err := tmpfsOptions(m.Options)
		if err != nil {
			return err
		}
		m.Options = opts
	default:
		return fmt.Errorf("type %q is not supported: use type=bind, type=volume or type=tmpfs", m.Type)
	}
	return nil
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
	if m.Source != "" && m.Type == "bind" {
		m.Source = path.Clean(m.Source)
	}
	return nil
}

// toSpec converts the mount to a runtime-spec mount; a volume is a bind
// mount of its directory, m.Source having been resolved by the caller.
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
	sort.SliceStable(ms, func(i, j int) bool {
		return strings.Count(ms[i].Destination, "/") < strings.Count(ms[j].Destination, "/")
	})
}

// NamedVolumes returns the named volumes of -v and --mount, in order, for
// the caller to resolve into SpecOptions.VolumePaths before GenerateSpec.
// A name used twice is listed twice. Its errors are those of ParseVolume
// and ParseMount.
func NamedVolumes(opts *SpecOptions) ([]MountSpec, error) {
	var out []MountSpec
	for _, list := range []struct {
		raws  []string
		parse func(string) (MountSpec, error)
	}{{opts.Volumes, ParseVolume}, {opts.Mounts, ParseMount}} {
		for _, raw := range list.raws {
			m, err := list.parse(raw)
			if err != nil {
				return nil, err
			}
			if m.Type == "volume" {
				out = append(out, m)
			}
		}
	}
	return out, nil
}

// resolveVolume points a volume mount at its directory from VolumePaths.
func resolveVolume(m *MountSpec, paths map[string]string) error {
	if m.Type != "volume" {
		return nil
	}
	p, ok := paths[m.Source]
	if !ok || !path.IsAbs(p) {
		return fmt.Errorf("%w: volume %s has no directory: the caller must resolve named volumes (NamedVolumes) first",
			ErrInvalidOption, m.Source)
	}
	m.Source = p
	return nil
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
