package specgen

import (
	"errors"
	"os"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// allowedBy reports whether a set of masked rules allows x, evaluating them
// the way libseccomp does: any matching rule allows.
func allowedBy(rules []maskedValue, x uint64) bool {
	for _, r := range rules {
		if x&r.mask == r.value {
			return true
		}
	}
	return false
}

func TestMaskedComplementBlocksExactlyTheFamilies(t *testing.T) {
	tests := []struct {
		name    string
		blocked []uint32
		limit   uint64
	}{
		{"socket families", []uint32{unix.AF_ALG, unix.AF_VSOCK}, socketFamilyLimit},
		{"none blocked", nil, 64},
		{"edges", []uint32{0, 63}, 64},
		{"blocked above the limit", []uint32{5, 70}, 64},
		{"whole 32 bits", []uint32{unix.AF_ALG, unix.AF_VSOCK}, 1 << 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := maskedComplement(tt.blocked, tt.limit)
			for x := uint64(0); x < 1<<16; x++ {
				want := x < tt.limit && !slices.Contains(tt.blocked, uint32(x))
				if allowedBy(rules, x) != want {
					t.Fatalf("family %d allowed=%v, want %v", x, !want, want)
				}
				// The upper 32 bits are ignored: the kernel reads an int.
				if allowedBy(rules, 1<<32|x) != want {
					t.Fatalf("family %#x allowed=%v, want %v", 1<<32|x, !want, want)
				}
			}
			for _, r := range rules {
				if r.mask>>32 != 0 || r.value>>32 != 0 {
					t.Errorf("rule %+v compares the upper 32 bits", r)
				}
			}
		})
	}
}

func TestSocketRulesAreFewAndRefuseAboveEveryFamily(t *testing.T) {
	rules := socketRules(blockedSocketFamilies)
	// 0-31, 32-35, 36-37, 39, 41, 42-43, 44-47, 48-63 and the EAFNOSUPPORT rule.
	if len(rules) != 9 {
		t.Errorf("%d socket rules, want 9: %+v", len(rules), rules)
	}
	last := rules[len(rules)-1]
	if last.Action != specs.ActErrno || *last.ErrnoRet != uint(unix.EAFNOSUPPORT) ||
		len(last.Args) != 1 || last.Args[0].Op != specs.OpGreaterThan || last.Args[0].Value != socketFamilyLimit-1 {
		t.Errorf("last socket rule %+v, want EAFNOSUPPORT above %d", last, socketFamilyLimit-1)
	}
}

func TestDefaultSeccompCapabilityGating(t *testing.T) {
	names := func(s *specs.LinuxSeccomp) []string { return s.Syscalls[0].Names }
	base := DefaultSeccomp("amd64", defaultCaps())
	for _, n := range []string{"mount", "unshare", "setns", "init_module", "ptrace", "bpf", "clone3", "reboot", "socket", "personality", "clone"} {
		if slices.Contains(names(base), n) {
			t.Errorf("%s is allowed unconditionally with the default capabilities", n)
		}
	}
	for _, n := range []string{"read", "execve", "chroot", "arch_prctl", "futex"} {
		if !slices.Contains(names(base), n) {
			t.Errorf("%s is not allowed with the default capabilities", n)
		}
	}
	if base.DefaultAction != specs.ActErrno || *base.DefaultErrnoRet != uint(unix.EPERM) {
		t.Errorf("default action %s/%v, want ERRNO(EPERM)", base.DefaultAction, base.DefaultErrnoRet)
	}
	admin := DefaultSeccomp("arm64", append(defaultCaps(), "CAP_SYS_ADMIN", "CAP_SYS_MODULE"))
	for _, n := range []string{"mount", "unshare", "setns", "clone", "clone3", "init_module", "set_tls"} {
		if !slices.Contains(names(admin), n) {
			t.Errorf("%s not allowed with CAP_SYS_ADMIN/CAP_SYS_MODULE on arm64", n)
		}
	}
	if slices.ContainsFunc(admin.Syscalls, func(s specs.LinuxSyscall) bool {
		return slices.Contains(s.Names, "clone3") && s.Action != specs.ActAllow
	}) {
		t.Error("clone3 is still refused with CAP_SYS_ADMIN")
	}
	if !slices.Equal(admin.Architectures, []specs.Arch{specs.ArchAARCH64, specs.ArchARM}) {
		t.Errorf("arm64 architectures = %v", admin.Architectures)
	}
}

func TestDefaultSeccompCloneRule(t *testing.T) {
	s := DefaultSeccomp("amd64", defaultCaps())
	var clone, clone3 *specs.LinuxSyscall
	for i := range s.Syscalls {
		switch s.Syscalls[i].Names[0] {
		case "clone":
			clone = &s.Syscalls[i]
		case "clone3":
			clone3 = &s.Syscalls[i]
		}
	}
	if clone == nil || len(clone.Args) != 1 || clone.Args[0].Op != specs.OpMaskedEqual || clone.Args[0].Value&unix.CLONE_NEWUSER == 0 || clone.Args[0].ValueTwo != 0 {
		t.Fatalf("clone rule = %+v", clone)
	}
	if clone3 == nil || clone3.Action != specs.ActErrno || *clone3.ErrnoRet != uint(unix.ENOSYS) {
		t.Fatalf("clone3 rule = %+v", clone3)
	}
}

func TestSocketRulesOneConditionPerEntry(t *testing.T) {
	// libcontainer ORs conditions on the same argument, so every entry must
	// carry exactly one.
	for _, r := range socketRules(blockedSocketFamilies) {
		if len(r.Args) != 1 {
			t.Fatalf("socket rule %+v", r)
		}
		if r.Action == specs.ActAllow && (r.Args[0].Op != specs.OpMaskedEqual || r.Args[0].Value>>32 != 0) {
			t.Fatalf("socket allow rule %+v", r)
		}
	}
}

func TestParseDockerSeccomp(t *testing.T) {
	data, err := os.ReadFile("testdata/profile.json")
	if err != nil {
		t.Fatal(err)
	}
	has := func(s *specs.LinuxSeccomp, name string) bool {
		return slices.ContainsFunc(s.Syscalls, func(c specs.LinuxSyscall) bool { return slices.Contains(c.Names, name) })
	}
	s, err := ParseDockerSeccomp(data, "amd64", []string{"CAP_SYS_ADMIN"}, "4.4.0")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Architectures, []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}) {
		t.Errorf("architectures = %v", s.Architectures)
	}
	checks := map[string]bool{"read": true, "ptrace": false, "newkernelcall": false, "mount": true,
		"chroot": true, "set_tls": false, "arch_prctl": true, "clone3": true}
	for n, want := range checks {
		if has(s, n) != want {
			t.Errorf("amd64/4.4/SYS_ADMIN: %s present=%v, want %v", n, !want, want)
		}
	}
	s, err = ParseDockerSeccomp(data, "arm64", []string{"CAP_SYS_CHROOT"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[string]bool{"ptrace": true, "newkernelcall": true, "mount": false, "chroot": false, "set_tls": true, "arch_prctl": false} {
		if has(s, n) != want {
			t.Errorf("arm64/any kernel/SYS_CHROOT: %s present=%v, want %v", n, !want, want)
		}
	}
	bad := []string{`{}`, `{"defaultAction":"SCMP_ACT_ERRNO","unknown":1}`, `not json`,
		`{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86"}]}`,
		`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ALLOW"}]}`}
	for _, b := range bad {
		if _, err := ParseDockerSeccomp([]byte(b), "amd64", nil, ""); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("ParseDockerSeccomp(%s) error = %v", b, err)
		}
	}
}

func TestParseKernelVersion(t *testing.T) {
	for in, want := range map[string][2]int{"6.1.0-rpi7-rpi-v8": {6, 1}, "5.15": {5, 15}, "4.8": {4, 8}, "6.18.0+": {6, 18}} {
		if got, err := parseKernelVersion(in); err != nil || got != want {
			t.Errorf("parseKernelVersion(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := parseKernelVersion("six"); err == nil {
		t.Error("parseKernelVersion(six) succeeded")
	}
}

func TestDropX32(t *testing.T) {
	on, off := true, false
	tests := []struct {
		name   string
		goarch string
		x32    *bool
		want   []specs.Arch
	}{
		{"amd64 kernel without x32", "amd64", &off, []specs.Arch{specs.ArchX86_64, specs.ArchX86}},
		{"amd64 kernel with x32", "amd64", &on, []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}},
		{"arm64 is untouched", "arm64", &off, []specs.Arch{specs.ArchAARCH64, specs.ArchARM}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSeccomp(tt.goarch, defaultCaps())
			dropX32(s, tt.x32)
			if !slices.Equal(s.Architectures, tt.want) {
				t.Errorf("architectures = %v, want %v", s.Architectures, tt.want)
			}
		})
	}
	dropX32(nil, &off) // no filter (seccomp=unconfined): nothing to do
}
