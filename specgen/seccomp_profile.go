package specgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// dockerProfile is the seccomp profile format of docker/moby
// (--security-opt seccomp=PROFILE.json).
type dockerProfile struct {
	DefaultAction    specs.LinuxSeccompAction `json:"defaultAction"`
	DefaultErrnoRet  *uint                    `json:"defaultErrnoRet,omitempty"`
	Architectures    []specs.Arch             `json:"architectures,omitempty"`
	ArchMap          []dockerArchMap          `json:"archMap,omitempty"`
	Syscalls         []dockerSyscall          `json:"syscalls,omitempty"`
	Flags            []specs.LinuxSeccompFlag `json:"flags,omitempty"`
	ListenerPath     string                   `json:"listenerPath,omitempty"`
	ListenerMetadata string                   `json:"listenerMetadata,omitempty"`
}

type dockerArchMap struct {
	Arch      specs.Arch   `json:"architecture"`
	SubArches []specs.Arch `json:"subArchitectures"`
}

type dockerSyscall struct {
	Name     string                   `json:"name,omitempty"`
	Names    []string                 `json:"names,omitempty"`
	Action   specs.LinuxSeccompAction `json:"action"`
	ErrnoRet *uint                    `json:"errnoRet,omitempty"`
	Args     []specs.LinuxSeccompArg  `json:"args"`
	Includes dockerFilter             `json:"includes"`
	Excludes dockerFilter             `json:"excludes"`
	Comment  string                   `json:"comment,omitempty"`
}

type dockerFilter struct {
	Caps      []string `json:"caps,omitempty"`
	Arches    []string `json:"arches,omitempty"`
	MinKernel string   `json:"minKernel,omitempty"`
}

// seccompEnv is what a docker profile's includes/excludes are matched
// against.
type seccompEnv struct {
	goarch string
	caps   []string
	kernel [2]int // major, minor; zero when unknown
}

// ParseDockerSeccomp converts a docker-format seccomp profile into the
// runtime-spec form for a container on goarch holding caps, running on a
// kernel of version kernel ("6.1.0-rpi7"; "" to ignore minKernel).
func ParseDockerSeccomp(data []byte, goarch string, caps []string, kernel string) (*specs.LinuxSeccomp, error) {
	var p dockerProfile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: seccomp profile: %w", ErrInvalidOption, err)
	}
	if p.DefaultAction == "" {
		return nil, fmt.Errorf("%w: seccomp profile has no defaultAction", ErrInvalidOption)
	}
	if len(p.Architectures) > 0 && len(p.ArchMap) > 0 {
		return nil, fmt.Errorf("%w: seccomp profile sets both architectures and archMap: use one", ErrInvalidOption)
	}
	env := seccompEnv{goarch: goarch, caps: caps}
	if kernel != "" {
		k, err := parseKernelVersion(kernel)
		if err != nil {
			return nil, err
		}
		env.kernel = k
	}
	s := &specs.LinuxSeccomp{
		DefaultAction: p.DefaultAction, DefaultErrnoRet: p.DefaultErrnoRet, Architectures: p.Architectures,
		Flags: p.Flags, ListenerPath: p.ListenerPath, ListenerMetadata: p.ListenerMetadata,
	}
	if len(p.ArchMap) > 0 {
		s.Architectures = archMapFor(p.ArchMap, goarch)
	}
	for i, call := range p.Syscalls {
		if call.Name != "" && len(call.Names) > 0 {
			return nil, fmt.Errorf("%w: seccomp profile syscall %d sets both name and names: use names", ErrInvalidOption, i)
		}
		ok, err := env.matches(call)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		names := call.Names
		if call.Name != "" {
			names = []string{call.Name}
		}
		s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: names, Action: call.Action, ErrnoRet: call.ErrnoRet, Args: call.Args})
	}
	return s, nil
}

// archMapFor picks the archMap entry of the native architecture.
func archMapFor(m []dockerArchMap, goarch string) []specs.Arch {
	native := seccompArchitectures(goarch)
	if len(native) == 0 {
		return nil
	}
	for _, e := range m {
		if e.Arch == native[0] {
			return append([]specs.Arch{e.Arch}, e.SubArches...)
		}
	}
	return nil
}

func (e seccompEnv) matches(call dockerSyscall) (bool, error) {
	in, ex := call.Includes, call.Excludes
	if len(in.Arches) > 0 && !slices.Contains(in.Arches, e.goarch) {
		return false, nil
	}
	if len(in.Caps) > 0 && !slices.ContainsFunc(in.Caps, e.hasCap) {
		return false, nil
	}
	if slices.Contains(ex.Arches, e.goarch) || slices.ContainsFunc(ex.Caps, e.hasCap) {
		return false, nil
	}
	if in.MinKernel != "" && e.kernel != [2]int{} {
		min, err := parseKernelVersion(in.MinKernel)
		if err != nil {
			return false, err
		}
		if e.kernel[0] < min[0] || (e.kernel[0] == min[0] && e.kernel[1] < min[1]) {
			return false, nil
		}
	}
	return true, nil
}

// hasCap accepts names with or without the CAP_ prefix.
func (e seccompEnv) hasCap(c string) bool {
	c = strings.ToUpper(c)
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	return slices.Contains(e.caps, c)
}

// parseKernelVersion reads "major.minor" from a kernel release string.
func parseKernelVersion(s string) ([2]int, error) {
	majS, rest, _ := strings.Cut(s, ".")
	minS := rest
	if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minS = rest[:i]
	}
	maj, err1 := strconv.Atoi(majS)
	min, err2 := strconv.Atoi(minS)
	if err1 != nil || err2 != nil || maj < 0 || min < 0 {
		return [2]int{}, fmt.Errorf("%w: %q is not a kernel version like 5.15", ErrInvalidOption, s)
	}
	return [2]int{maj, min}, nil
}
