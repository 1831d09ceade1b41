package specgen

import (
	"fmt"
	"os"
	"path"
	goruntime "runtime"
	"slices"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/cgroups"
)

// Annotations GenerateSpec records for the lifecycle code.
const (
	AnnotationStopSignal   = "io.edgerun.stop-signal"
	AnnotationExposedPorts = "io.edgerun.exposed-ports"
)

// SpecOptions are the docker-style run options GenerateSpec merges with the
// image config. Flag values are passed as typed; GenerateSpec parses and
// validates them all before anything is created.
type SpecOptions struct {
	ID     string // container id; the cgroup is /edgerun/<id>
	Rootfs string // prepared root file system (users are looked up in it)
	GOARCH string // architecture for the seccomp filter; "" for this host's

	Args       []string                    // command after the image name; replaces Cmd
	Entrypoint *string                     // --entrypoint; nil keeps the image's, "" clears it
	Env        []string                    // --env-file entries followed by -e flags, in order
	HostEnv    func(string) (string, bool) `json:"-"`
	Workdir    string                      // -w
	User       string                      // -u NAME|UID[:GROUP|GID]
	GroupAdd   []string                    // --group-add
	Hostname   string                      // -h; defaults to the first 12 characters of ID
	ReadOnly   bool                        // --read-only
	TTY        bool                        // -t
	StopSignal string                      // --stop-signal; "" keeps the image's STOPSIGNAL

	Volumes []string // -v
	Mounts  []string // --mount
	Tmpfs   []string // --tmpfs
	// ShmSize is --shm-size, the size of the /dev/shm tmpfs ("": 64m).
	ShmSize string `json:",omitempty"`
	// VolumePaths maps each named volume of Volumes and Mounts
	// (NamedVolumes) to its host directory, resolved by the caller; a
	// named volume without an entry is an error.
	VolumePaths map[string]string
	// ImageVolumes maps an image VOLUME to the host directory prepared for
	// it; VOLUMEs without an entry stay part of the container's rootfs.
	ImageVolumes map[string]string
	Devices      []string // --device
	// OptionalDevices are --device-optional: like --device, but a device
	// that is missing at a start is left out instead of refusing it.
	OptionalDevices []string `json:",omitempty"`
	// DeviceCgroupRules are --device-cgroup-rule ("c 188:* rwm").
	DeviceCgroupRules []string `json:",omitempty"`
	// RestartOnDevice is --restart-on-device: a device that comes back
	// restarts a detached container.
	RestartOnDevice bool `json:",omitempty"`

	CapAdd, CapDrop []string
	Privileged      bool
	SecurityOpts    []string // --security-opt
	// AppArmorDefault is the AppArmor profile a container runs under
	// unless --privileged or apparmor=... says otherwise: edgerun's
	// default profile once loaded, "" on hosts without AppArmor (set by
	// the runtime, not a flag). AppArmorEnabled says whether the host
	// enforces AppArmor at all, for apparmor=PROFILE.
	AppArmorDefault string `json:"-"`
	AppArmorEnabled bool   `json:"-"`
	// SELinuxProcessLabel and SELinuxMountLabel are the container's
	// SELinux labels, chosen by the runtime where SELinux is enabled
	// (from --security-opt label=...); "" elsewhere.
	SELinuxProcessLabel string   `json:"-"`
	SELinuxMountLabel   string   `json:"-"`
	Sysctls             []string // --sysctl NAME=VALUE
	Ulimits             []string // --ulimit
	Limits              cgroups.Limits

	// HostNetwork shares the host's network namespace (--network host).
	HostNetwork bool
	// NetNSPath is a network namespace to join (bridge and container:
	// modes); empty makes a new one unless HostNetwork.
	NetNSPath string
	// Cgroupless runs the container without a cgroup of its own (rootless
	// without cgroup delegation): no cgroup path, and limits must be empty
	// (the caller refuses them first, with the reason).
	Cgroupless bool
	// CgroupParent is the cgroup below which the container's goes
	// (<parent>/edgerun/<id>): a rootless user's delegated cgroup; ""
	// is root's /edgerun/<id>.
	CgroupParent string
	// UserNS says edgerun runs in a user namespace (rootless): /sys cannot
	// be mounted without a network namespace of the container's own, so
	// --network host binds the host's instead.
	UserNS bool
	// SingleID says the user namespace maps one ID only (rootless without
	// subordinate IDs): only root exists. -u with another user is refused;
	// an image's own USER runs as root instead, said through Notice.
	SingleID bool
	// Notice receives what the user should know about the spec (nil: dropped).
	Notice func(string) `json:"-"`
	// CgroupNamespace gives the container its own cgroup namespace; nil
	// means "when the kernel supports it".
	CgroupNamespace *bool
	// KernelVersion is matched against minKernel in seccomp=PROFILE.json;
	// "" means this host's.
	KernelVersion string
	// HostCaps are the capabilities this host can grant; nil means
	// HostCapabilities().
	HostCaps []string
	// RlimitBounds are what the kernel lets --ulimit set; nil means
	// HostRlimitBounds() (read only when there are --ulimit flags).
	RlimitBounds *RlimitBounds
	// HostDevices lists the devices --privileged passes through; nil
	// means the host's /dev.
	HostDevices func() ([]specs.LinuxDevice, error) `json:"-"`
	// IDMaps are the IDs of edgerun's user namespace (rootless), which a
	// container of --group-add keep-groups maps one-to-one.
	IDMaps *IDMaps
	// X32 says whether the kernel runs x32 syscalls (amd64), which the
	// default seccomp profile then covers; nil asks this kernel.
	X32 *bool
}

// GenerateSpec builds the runtime spec of a container from the image config
// and the run options, refusing invalid options with errors that say what
// to change. It reads the host only to stat --device nodes and bind
// sources, to read seccomp profiles and the image's /etc/passwd, and for
// what SpecOptions leaves nil (capabilities, rlimit bounds and the like).
func GenerateSpec(img ocispec.ImageConfig, opts *SpecOptions) (*specs.Spec, error) {
	if opts.ID == "" {
		return nil, fmt.Errorf("%w: container id is empty", ErrInvalidOption)
	}
	proc, caps, err := buildProcess(img, opts)
	if err != nil {
		return nil, err
	}
	linux, err := buildLinux(opts, caps, opts.HostNetwork)
	if err != nil {
		return nil, err
	}
	if ownUserNamespace(opts) {
		if err := keepGroupsNamespace(linux, opts.IDMaps); err != nil {
			return nil, err
		}
	}
	mounts, err := buildMounts(img, opts)
	if err != nil {
		return nil, err
	}
	s := &specs.Spec{
		Version:     specs.Version,
		Process:     proc,
		Root:        &specs.Root{Path: opts.Rootfs, Readonly: opts.ReadOnly},
		Hostname:    hostnameFor(opts),
		Mounts:      mounts,
		Linux:       linux,
		Annotations: annotations(img, opts.StopSignal),
	}
	if err := applySecurity(s, opts); err != nil {
		return nil, err
	}
	plan, err := planDevices(opts)
	if err != nil {
		return nil, err
	}
	if plan != nil {
		setPlan(s, plan)
		missing, err := ApplyDevices(s, "/dev", opts.UserNS)
		if err != nil {
			return nil, err
		}
		for _, d := range missing {
			if opts.Notice != nil {
				opts.Notice(fmt.Sprintf("--device-optional %s is not there: the container starts without it", d.Host))
			}
		}
	}
	return s, nil
}

func hostnameFor(opts *SpecOptions) string {
	if opts.Hostname != "" {
		return opts.Hostname
	}
	return opts.ID[:min(12, len(opts.ID))]
}

// buildProcess assembles args, env, cwd, user, capabilities and rlimits.
func buildProcess(img ocispec.ImageConfig, opts *SpecOptions) (*specs.Process, []string, error) {
	args, err := commandLine(img, opts)
	if err != nil {
		return nil, nil, err
	}
	hostname := hostnameFor(opts)
	if err := checkHostname(hostname); err != nil {
		return nil, nil, err
	}
	env, err := mergeEnv(img.Env, opts.Env, opts.HostEnv, hostname, opts.TTY)
	if err != nil {
		return nil, nil, err
	}
	cwd, err := workingDir(img.WorkingDir, opts.Workdir)
	if err != nil {
		return nil, nil, err
	}
	userSpec := img.User
	if opts.User != "" {
		userSpec = opts.User
	}
	keep, groupAdd, err := splitKeepGroups(opts.GroupAdd, opts.UserNS)
	if err != nil {
		return nil, nil, err
	}
	u, err := resolveUser(opts.Rootfs, userSpec, groupAdd)
	if err != nil {
		return nil, nil, err
	}
	if keep {
		u.AdditionalGids = nil // the user's own groups are kept instead
	}
	if opts.SingleID {
		if opts.User == "" && (u.UID != 0 || u.GID != 0) {
			if opts.Notice != nil {
				opts.Notice(fmt.Sprintf("the image runs as user %q, which this rootless session cannot map (no subordinate IDs): "+
					"it runs as the container's root, which is you on the host", userSpec))
			}
			u = resolvedUser{Home: u.Home}
		}
		if err := singleIDUser(u, userSpec, groupAdd); err != nil {
			return nil, nil, err
		}
		u.AdditionalGids = nil // the image's groups of root: not mapped, never joined
	}
	if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "HOME=") }) {
		env = append(env, "HOME="+u.Home)
	}
	host := opts.HostCaps
	if host == nil {
		if host, err = HostCapabilities(); err != nil {
			return nil, nil, err
		}
	}
	caps, err := capabilities(opts.CapAdd, opts.CapDrop, opts.Privileged, host)
	if err != nil {
		return nil, nil, err
	}
	rlimits, err := rlimitsFor(opts)
	if err != nil {
		return nil, nil, err
	}
	p := &specs.Process{
		Terminal: opts.TTY,
		User:     specs.User{UID: u.UID, GID: u.GID, AdditionalGids: u.AdditionalGids},
		Args:     args,
		Env:      env,
		Cwd:      cwd,
		Capabilities: &specs.LinuxCapabilities{
			Bounding: caps, Effective: slices.Clone(caps), Permitted: slices.Clone(caps),
			Inheritable: []string{}, Ambient: []string{},
		},
		Rlimits:     rlimits,
		OOMScoreAdj: opts.Limits.OOMScoreAdj,
	}
	return p, caps, nil
}

// commandLine merges the image's Entrypoint and Cmd with --entrypoint and
// the command arguments the way docker does.
func commandLine(img ocispec.ImageConfig, opts *SpecOptions) ([]string, error) {
	entry, cmd := img.Entrypoint, img.Cmd
	if opts.Entrypoint != nil {
		entry, cmd = nil, nil // docker drops the image's Cmd with --entrypoint
		if *opts.Entrypoint != "" {
			entry = []string{*opts.Entrypoint}
		}
	}
	if len(opts.Args) > 0 {
		cmd = opts.Args
	}
	args := append(slices.Clone(entry), cmd...)
	if len(args) == 0 || args[0] == "" {
		return nil, fmt.Errorf("%w: no command to run: the image has no Entrypoint or Cmd, so give one after the image name", ErrInvalidOption)
	}
	return args, nil
}

// workingDir picks -w or the image's WorkingDir and refuses paths in /proc,
// such as /proc/self/fd/7, which would hand the container a host directory.
func workingDir(image, flag string) (string, error) {
	dir, src := flag, "-w"
	if dir == "" {
		dir, src = image, "the image's WorkingDir"
		if dir == "" {
			return "/", nil
		}
		if !path.IsAbs(dir) {
			dir = "/" + dir // docker resolves an image's relative WorkingDir from /
		}
	}
	return checkWorkdir(src, dir)
}

// checkWorkdir refuses a working directory that is not absolute or lies
// in /proc (CVE-2024-21626: /proc/self/fd/N of a descriptor leaked into
// the runtime's init is a host directory), and returns it clean. src
// names where it came from, for the message.
func checkWorkdir(src, dir string) (string, error) {
	if !path.IsAbs(dir) {
		return "", fmt.Errorf("%w: %s %q is not an absolute path", ErrInvalidOption, src, dir)
	}
	clean := path.Clean(dir)
	if clean == "/proc" || strings.HasPrefix(clean, "/proc/") || strings.ContainsRune(dir, 0) {
		return "", fmt.Errorf("%w: %s %q is in /proc: choose a directory of the container's file system", ErrInvalidOption, src, dir)
	}
	return clean, nil
}

func checkHostname(h string) error {
	if len(h) > 63 || strings.ContainsFunc(h, func(r rune) bool {
		return !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		return fmt.Errorf("%w: hostname %q: use at most 63 letters, digits, dots and dashes", ErrInvalidOption, h)
	}
	return nil
}

func annotations(img ocispec.ImageConfig, stopSignal string) map[string]string {
	a := map[string]string{}
	if img.StopSignal != "" {
		a[AnnotationStopSignal] = img.StopSignal
	}
	if stopSignal != "" {
		a[AnnotationStopSignal] = stopSignal
	}
	if len(img.ExposedPorts) > 0 {
		ports := make([]string, 0, len(img.ExposedPorts))
		for p := range img.ExposedPorts {
			ports = append(ports, p)
		}
		slices.Sort(ports)
		a[AnnotationExposedPorts] = strings.Join(ports, ",")
	}
	if len(a) == 0 {
		return nil
	}
	return a
}

// cgroupNamespaceSupported reports whether the kernel has cgroup namespaces.
func cgroupNamespaceSupported() bool {
	_, err := os.Stat("/proc/self/ns/cgroup")
	return err == nil
}

func hostArch(goarch string) string {
	if goarch == "" {
		return goruntime.GOARCH
	}
	return goarch
}

func kernelRelease(v string) string {
	if v != "" {
		return v
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
