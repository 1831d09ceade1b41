package specgen

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/edgerun/edgerun/cgroups"
)

// maskedPaths are hidden from unprivileged containers (docker's list).
func maskedPaths() []string {
	return []string{"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats",
		"/sys/devices/virtual/powercap", "/sys/firmware"}
}

// readonlyPaths are read-only in unprivileged containers (docker's list).
func readonlyPaths() []string {
	return []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
}

// buildLinux assembles namespaces, devices, cgroup resources, sysctls,
// masked paths and the seccomp filter.
func buildLinux(opts *SpecOptions, caps []string, hostNet bool) (*specs.Linux, error) {
	if opts.Cgroupless {
		if f := opts.Limits.CgroupFlags(); len(f) > 0 {
			return nil, fmt.Errorf("%w: %s needs a cgroup, and this container has none", ErrInvalidOption, strings.Join(f, ", "))
		}
	}
	l := &specs.Linux{
		CgroupsPath: cgroups.PathIn(opts.CgroupParent, opts.ID),
		Namespaces:  namespaces(opts, hostNet),
		Resources:   opts.Limits.Resources(),
	}
	if l.Resources == nil {
		l.Resources = &specs.LinuxResources{}
	}
	if opts.Cgroupless {
		l.CgroupsPath = ""
	}
	l.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: opts.Privileged, Access: "rwm"}}
	for _, kv := range opts.Sysctls {
		k, v, err := checkSysctl(kv, hostNet)
		if err != nil {
			return nil, err
		}
		if l.Sysctl == nil {
			l.Sysctl = map[string]string{}
		}
		l.Sysctl[k] = v
	}
	if !opts.Privileged {
		l.MaskedPaths, l.ReadonlyPaths = maskedPaths(), readonlyPaths()
	} else if err := addHostDevices(l, opts); err != nil {
		return nil, err
	}
	return l, nil
}

// applySecurity sets no-new-privileges, the seccomp filter and the
// AppArmor profile.
func applySecurity(s *specs.Spec, opts *SpecOptions) error {
	so, err := parseSecurityOpts(opts.SecurityOpts)
	if err != nil {
		return err
	}
	s.Process.NoNewPrivileges = so.noNewPrivileges
	caps := s.Process.Capabilities.Bounding
	arch := hostArch(opts.GOARCH)
	switch {
	case so.seccompMode == "unconfined", opts.Privileged && so.seccompMode == "":
		s.Linux.Seccomp = nil
	case so.seccompMode == "profile":
		sc, err := ParseDockerSeccomp(so.seccompProfile, arch, caps, kernelRelease(opts.KernelVersion))
		if err != nil {
			return fmt.Errorf("--security-opt seccomp=%s: %w", so.seccompPath, err)
		}
		s.Linux.Seccomp = sc
	default:
		s.Linux.Seccomp = DefaultSeccomp(arch, caps)
		dropX32(s.Linux.Seccomp, opts.X32)
	}
	switch {
	case so.apparmor == "unconfined", so.apparmor == "" && opts.Privileged:
		s.Process.ApparmorProfile = ""
	case so.apparmor != "":
		if !opts.AppArmorEnabled {
			return fmt.Errorf("%w: --security-opt apparmor=%s: AppArmor is not enabled on this host (see edgerun doctor): drop the option", ErrInvalidOption, so.apparmor)
		}
		s.Process.ApparmorProfile = so.apparmor
	default:
		s.Process.ApparmorProfile = opts.AppArmorDefault
	}
	s.Process.SelinuxLabel, s.Linux.MountLabel = opts.SELinuxProcessLabel, opts.SELinuxMountLabel
	return nil
}

func namespaces(opts *SpecOptions, hostNet bool) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace},
		{Type: specs.UTSNamespace}, {Type: specs.MountNamespace}}
	if !hostNet {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: opts.NetNSPath})
	}
	if useCgroupNS(opts) {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return ns
}

func useCgroupNS(opts *SpecOptions) bool {
	if opts.CgroupNamespace != nil {
		return *opts.CgroupNamespace
	}
	return cgroupNamespaceSupported()
}

// buildMounts returns the standard mounts followed by the image's volumes
// and the user's mounts, parents before children. A user mount replaces
// an image volume on the same destination.
func buildMounts(img ocispec.ImageConfig, opts *SpecOptions) ([]specs.Mount, error) {
	user, err := userMounts(opts)
	if err != nil {
		return nil, err
	}
	for dst := range img.Volumes {
		src, ok := opts.ImageVolumes[dst]
		clean := path.Clean("/" + dst)
		if !ok || slices.ContainsFunc(user, func(m MountSpec) bool { return m.Destination == clean }) {
			continue
		}
		m := MountSpec{Type: "bind", Source: src, Destination: clean}
		if err := m.validate("image VOLUME", dst); err != nil {
			return nil, err
		}
		user = append(user, m)
	}
	sort.SliceStable(user, func(i, j int) bool { return user[i].Destination < user[j].Destination })
	sortMounts(user)
	mounts := defaultMounts(opts.Privileged, useCgroupNS(opts))
	if err := setShmSize(mounts, opts.ShmSize); err != nil {
		return nil, err
	}

	if opts.SingleID {
		// gid 5 (tty) is not mapped: devpts would refuse the option.
		for i := range mounts {
			if mounts[i].Type == "devpts" {
				mounts[i].Options = slices.DeleteFunc(slices.Clone(mounts[i].Options), func(o string) bool { return o == "gid=5" })
			}
		}
	}
	if opts.UserNS && (opts.HostNetwork || ownUserNamespace(opts) && opts.NetNSPath != "") {
		// sysfs mounts only for the owner of the network namespace: not
		// the container's own user namespace of keep-groups when it joins
		// the one edgerun made.
		for i := range mounts {
			if mounts[i].Destination == "/sys" {
				mounts[i] = specs.Mount{Destination: "/sys", Type: "bind", Source: "/sys",
					Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
			}
		}
	}
	for _, m := range user {
		mounts = append(mounts, m.toSpec())
	}
	return mounts, nil
}

// userMounts parses -v, --mount and --tmpfs, checks that bind sources
// exist, points named volumes at their directories (VolumePaths) and
// refuses two mounts on one destination.
func userMounts(opts *SpecOptions) ([]MountSpec, error) {
	var out []MountSpec
	add := func(raws []string, parse func(string) (MountSpec, error)) error {
		for _, raw := range raws {
			m, err := parse(raw)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(out, func(o MountSpec) bool { return o.Destination == m.Destination }) {
				return fmt.Errorf("%w: %q: two mounts on %s: keep one", ErrInvalidOption, raw, m.Destination)
			}
			if err := checkBindSource(m); err != nil {
				return err
			}
			if err := resolveVolume(&m, opts.VolumePaths); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	}
	if err := add(opts.Volumes, ParseVolume); err != nil {
		return nil, err
	}
	if err := add(opts.Mounts, ParseMount); err != nil {
		return nil, err
	}
	if err := add(opts.Tmpfs, ParseTmpfs); err != nil {
		return nil, err
	}
	return out, nil
}
