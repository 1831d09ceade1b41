package specgen

import (
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The x32 ABI (64-bit registers, 32-bit pointers) shares x86_64's audit
// architecture; its syscalls carry bit 30 in the number. Most kernels
// that build it in leave it off (Debian: CONFIG_X86_X32_ABI with
// syscall.x32=n by default), and then every x32 syscall fails with
// ENOSYS before any filter runs. Covering it costs libseccomp a third
// tree (about 10 ms per container start on this machine), so the default
// profile lists SCMP_ARCH_X32 only when the kernel runs x32 syscalls.
// Leaving it out blocks nothing more than the kernel does: with x86_64 in
// the filter and x32 not, syscalls with the x32 bit take the bad-arch
// path (libcontainer answers ENOSYS), never the allow list.
//
// The kernel is asked directly (an x32 getpid) because its config file is
// often absent and the boot parameter overrides it. The probe is skipped,
// keeping x32 in the filter, when edgerun itself runs under a seccomp
// filter: one that kills on foreign ABIs (systemd's
// SystemCallArchitectures=native) would kill edgerun.

// dropX32 removes SCMP_ARCH_X32 from a default profile's architectures
// unless the kernel runs x32 syscalls; x32 is nil to probe this host.
func dropX32(s *specs.LinuxSeccomp, x32 *bool) {
	if s == nil || !slices.Contains(s.Architectures, specs.ArchX32) {
		return
	}
	on := false
	if x32 != nil {
		on = *x32
	} else {
		on = KernelRunsX32()
	}
	if !on {
		s.Architectures = slices.DeleteFunc(slices.Clone(s.Architectures), func(a specs.Arch) bool { return a == specs.ArchX32 })
	}
}

// underSeccomp says whether this process runs under a seccomp filter (or
// cannot tell).
func underSeccomp() bool {
	v, ok, err := statusField("/proc/self/status", "Seccomp")
	if err != nil {
		return true
	}
	return ok && v != "0" // no line: a kernel without seccomp, no filter to fear
}
