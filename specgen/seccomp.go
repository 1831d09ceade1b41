package specgen

import (
	"math/bits"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// cloneNamespaceFlags are the clone(2) flags that create namespaces; the
// default profile refuses clone with any of them unless CAP_SYS_ADMIN.
const cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWTIME

// blockedSocketFamilies are the address families socket(2) refuses:
// AF_ALG (kernel crypto API, a recurring source of kernel bugs) and
// AF_VSOCK (host/guest sockets).
var blockedSocketFamilies = []uint32{unix.AF_ALG, unix.AF_VSOCK}

// personalities are the personality(2) values allowed: PER_LINUX,
// PER_LINUX32, UNAME26, PER_LINUX32|UNAME26 and the query value.
var personalities = []uint64{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}

// seccompArchitectures returns the libseccomp architectures a filter for
// goarch must cover: the native one plus the compat ABIs the kernel can
// run, so a 32-bit binary cannot step around the filter.
func seccompArchitectures(goarch string) []specs.Arch {
	switch goarch {
	case "amd64":
		return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case "386":
		return []specs.Arch{specs.ArchX86}
	case "arm64":
		return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	case "arm":
		return []specs.Arch{specs.ArchARM}
	}
	return nil
}

// DefaultSeccomp returns edgerun's default seccomp profile for a container
// holding caps (names with the CAP_ prefix) on goarch. Everything not
// allowed fails with EPERM.
func DefaultSeccomp(goarch string, caps []string) *specs.LinuxSeccomp {
	have := func(c string) bool { return slices.Contains(caps, c) }
	names := append(seccompAllowed(), seccompArchAllowed(goarch)...)
	for cp, calls := range seccompCapAllowed() {
		if have(cp) {
			names = append(names, calls...)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	s := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: ptrTo(uint(unix.EPERM)),
		Architectures:   seccompArchitectures(goarch),
		Syscalls:        []specs.LinuxSyscall{{Names: names, Action: specs.ActAllow}},
	}
	s.Syscalls = append(s.Syscalls, personalityRules()...)
	s.Syscalls = append(s.Syscalls, socketRules(blockedSocketFamilies)...)
	if !have("CAP_SYS_ADMIN") {
		s.Syscalls = append(s.Syscalls, cloneRules()...)
	}
	return s
}

// personalityRules allow personality(2) only for the harmless values.
func personalityRules() []specs.LinuxSyscall {
	rules := make([]specs.LinuxSyscall, 0, len(personalities))
	for _, p := range personalities {
		rules = append(rules, specs.LinuxSyscall{
			Names:  []string{"personality"},
			Action: specs.ActAllow,
			Args:   []specs.LinuxSeccompArg{{Index: 0, Value: p, Op: specs.OpEqualTo}},
		})
	}
	return rules
}

// cloneRules allow clone(2) without namespace flags and make clone3(2),
// whose flags live in memory the filter cannot read, fail with ENOSYS so
// that libc falls back to clone.
func cloneRules() []specs.LinuxSyscall {
	return []specs.LinuxSyscall{
		{
			Names:  []string{"clone"},
			Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{
				Index: 0, Value: cloneNamespaceFlags, ValueTwo: 0, Op: specs.OpMaskedEqual,
			}},
		},
		{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: ptrTo(uint(unix.ENOSYS))},
	}
}

// socketRules allow socket(2) for every address family except blocked.
//
// The allow rules are separate entries with a single masked comparison of
// the low 32 bits of the family each, together covering exactly the
// families below socketFamilyLimit that are not blocked. Two things make
// this shape necessary:
//   - libcontainer turns several conditions on the same argument into
//     separate rules, which libseccomp ORs, so "family != 38 && family !=
//     40" in one entry would allow both;
//   - the kernel reads the family as an int, so a plain 64-bit "!= 38" is
//     passed by 38 with junk in the upper 32 bits. A mask that ignores the
//     upper bits closes that.
//
// No family exists at or above socketFamilyLimit (the kernel answers
// EAFNOSUPPORT there), so one last rule gives that same answer instead of
// the 26 further masked rules that spelling out every 32-bit value above
// 63 took: those made libseccomp's compile in every container's init a
// third slower. A blocked family with junk upper bits is refused either way.
func socketRules(blocked []uint32) []specs.LinuxSyscall {
	var rules []specs.LinuxSyscall
	for _, m := range maskedComplement(blocked, socketFamilyLimit) {
		rules = append(rules, specs.LinuxSyscall{
			Names:  []string{"socket"},
			Action: specs.ActAllow,
			Args:   []specs.LinuxSeccompArg{{Index: 0, Value: m.mask, ValueTwo: m.value, Op: specs.OpMaskedEqual}},
		})
	}
	return append(rules, specs.LinuxSyscall{
		Names:    []string{"socket"},
		Action:   specs.ActErrno,
		ErrnoRet: ptrTo(uint(unix.EAFNOSUPPORT)),
		Args:     []specs.LinuxSeccompArg{{Index: 0, Value: socketFamilyLimit - 1, Op: specs.OpGreaterThan}},
	})
}

// socketFamilyLimit is above every address family Linux has (AF_MAX is 46
// in Linux 6.18; the kernel refuses families >= AF_MAX): a power of two.
const socketFamilyLimit = 64

type maskedValue struct{ mask, value uint64 }

// maskedComplement returns masked comparisons "x & mask == value" of the
// low 32 bits whose union is every x below limit (a power of two) that is
// not in blocked. It walks the binary trie of the
// blocked values from the top bit: wherever the trie has only one child,
// the other child (a whole subtree free of blocked values) is one
// comparison.
func maskedComplement(blocked []uint32, limit uint64) []maskedValue {
	var out []maskedValue
	var walk func(prefix uint64, bit int, set []uint32)
	walk = func(prefix uint64, bit int, set []uint32) {
		if bit < 0 || len(set) == 0 {
			return
		}
		mask := uint64(0xffffffff) &^ (uint64(1)<<bit - 1)
		var zero, one []uint32
		for _, v := range set {
			if v&(1<<bit) != 0 {
				one = append(one, v)
			} else {
				zero = append(zero, v)
			}
		}
		if len(zero) == 0 {
			out = append(out, maskedValue{mask, prefix})
		}
		if len(one) == 0 {
			out = append(out, maskedValue{mask, prefix | 1<<bit})
		}
		walk(prefix, bit-1, zero)
		walk(prefix|1<<bit, bit-1, one)
	}
	// Families at or above limit are outside the walk (and not allowed).
	set := slices.DeleteFunc(slices.Clone(blocked), func(v uint32) bool { return uint64(v) >= limit })
	slices.Sort(set)
	if len(set) == 0 {
		return []maskedValue{{mask: 0xffffffff &^ (limit - 1), value: 0}}
	}
	walk(0, bits.Len64(limit-1)-1, slices.Compact(set))
	return out
}

func ptrTo[T any](v T) *T { return &v }
