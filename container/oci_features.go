package container

import (
	"fmt"

	"github.com/opencontainers/runc/libcontainer/capabilities"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// AnnotationVersion names edgerun's version in the features document.
const AnnotationVersion = "io.edgerun.version"

// OCIFeatures is the runtime-spec features document of the OCI face:
// what this build implements (not what the host enables), for engines
// that ask before they use a feature.
func OCIFeatures(version string) *features.Features {
	t := true
	f := &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         configs.KnownHookNames(),
		MountOptions:  specconv.KnownMountOptions(),
		Annotations:   map[string]string{AnnotationVersion: version},
		Linux: &features.Linux{
			Namespaces:   specconv.KnownNamespaces(),
			Capabilities: capabilities.KnownCapabilities(),
			Cgroup:       &features.Cgroup{V1: &t, V2: &t, Systemd: &t, SystemdUser: &t, Rdma: &t},
			Apparmor:     &features.Apparmor{Enabled: &t},
			Selinux:      &features.Selinux{Enabled: &t},
			IntelRdt:     &features.IntelRdt{Enabled: &t},
			MemoryPolicy: &features.MemoryPolicy{
				Modes: specconv.KnownMemoryPolicyModes(), Flags: specconv.KnownMemoryPolicyFlags(),
			},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &t}},
			NetDevices:      &features.NetDevices{Enabled: &t},
		},
		// The libcontainer label "bundle" and systemd properties are
		// taken from annotations: an engine passing untrusted ones on
		// should filter these.
		PotentiallyUnsafeConfigAnnotations: []string{"bundle", "org.systemd.property."},
	}
	if seccomp.Enabled {
		f.Linux.Seccomp = &features.Seccomp{
			Enabled: &t, Actions: seccomp.KnownActions(), Operators: seccomp.KnownOperators(),
			Archs: seccomp.KnownArchs(), KnownFlags: seccomp.KnownFlags(), SupportedFlags: seccomp.SupportedFlags(),
		}
		major, minor, patch := seccomp.Version()
		f.Annotations["io.edgerun.libseccomp.version"] = fmt.Sprintf("%d.%d.%d", major, minor, patch)
	}
	return f
}

// OCIExampleSpec is the config.json `spec` writes: a shell in a rootfs
// directory of the bundle, with the container world's defaults; rootless
// adds a user namespace mapping the caller and drops what an ordinary
// user cannot set up.
func OCIExampleSpec(rootless bool) *specs.Spec {
	s := specconv.Example()
	if rootless {
		specconv.ToRootless(s)
	}
	return s
}
