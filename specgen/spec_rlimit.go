package specgen

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// RlimitBounds are what the kernel lets edgerun set as a container's
// rlimits (see checkRlimit).
type RlimitBounds struct {
	// NrOpen is fs.nr_open (/proc/sys/fs/nr_open): no process may have
	// a nofile hard limit above it.
	NrOpen uint64
	// Hard are edgerun's own hard limits by RLIMIT_ name, when edgerun
	// cannot raise them (it lacks CAP_SYS_RESOURCE in the initial user
	// namespace); nil when it can.
	Hard map[string]uint64
}

// HostRlimitBounds reads this host's bounds: fs.nr_open, and edgerun's
// own hard limits unless it holds CAP_SYS_RESOURCE in the initial user
// namespace.
func HostRlimitBounds() (*RlimitBounds, error) {
	b, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		return nil, fmt.Errorf("read the kernel's ceiling on open files: %w", err)
	}
	nrOpen, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("parse /proc/sys/fs/nr_open %q: %w", b, err)
	}
	bounds := &RlimitBounds{NrOpen: nrOpen}
	capEff, err := effectiveCaps("/proc/self/status")
	if err != nil {
		return nil, err
	}
	uidMap, err := os.ReadFile("/proc/self/uid_map")
	if err != nil && !errors.Is(err, fs.ErrNotExist) { // no file: a kernel without user namespaces
		return nil, fmt.Errorf("read the user namespace's uid map: %w", err)
	}
	if raisesHardLimits(capEff, string(uidMap)) {
		return bounds, nil
	}
	bounds.Hard = map[string]uint64{}
	for name, res := range rlimitResources() {
		var rl unix.Rlimit
		if err := unix.Getrlimit(res, &rl); err != nil {
			return nil, fmt.Errorf("read edgerun's own %s: %w", name, err)
		}
		bounds.Hard[name] = rl.Max
	}
	return bounds, nil
}

// raisesHardLimits says whether a process with the effective capability
// set capEff, in the user namespace of uidMap, may raise a hard limit:
// the kernel asks for CAP_SYS_RESOURCE in the initial user namespace,
// the one whose uid map is the identity over all ids (or that has none).
func raisesHardLimits(capEff uint64, uidMap string) bool {
	bit := slices.Index(KnownCapabilities(), "CAP_SYS_RESOURCE")
	f := strings.Fields(uidMap)
	initial := len(f) == 0 || len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295"
	return initial && capEff&(1<<uint(bit)) != 0
}

// effectiveCaps reads CapEff from a /proc/PID/status file.
func effectiveCaps(status string) (uint64, error) {
	v, ok, err := statusField(status, "CapEff")
	if err != nil {
		return 0, fmt.Errorf("read the effective capabilities: %w", err)
	}
	if !ok {
		return 0, fmt.Errorf("no CapEff line in %s", status)
	}
	m, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("parse CapEff in %s: %w", status, err)
	}
	return m, nil
}

// RlimitResource is the kernel's number of the spec's rlimit name
// (RLIMIT_NOFILE and the like).
func RlimitResource(name string) (int, bool) {
	n, ok := rlimitResources()[name]
	return n, ok
}

// rlimitResources maps RLIMIT_ names to the kernel's numbers.
func rlimitResources() map[string]int {
	return map[string]int{
		"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
		"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
		"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE,
		"RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC,
		"RLIMIT_RSS": unix.RLIMIT_RSS, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
		"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
	}
}

// rlimitsFor parses --ulimit flags (the last of one type wins) and checks
// each against the bounds of opts, or of this host when it has none.
func rlimitsFor(opts *SpecOptions) ([]specs.POSIXRlimit, error) {
	if len(opts.Ulimits) == 0 {
		return nil, nil
	}
	bounds := opts.RlimitBounds
	if bounds == nil {
		var err error
		if bounds, err = HostRlimitBounds(); err != nil {
			return nil, err
		}
	}
	var out []specs.POSIXRlimit
	for _, u := range opts.Ulimits {
		typ, soft, hard, err := ParseUlimit(u)
		if err != nil {
			return nil, err
		}
		if err := checkRlimit(u, typ, hard, bounds); err != nil {
			return nil, err
		}
		out = slices.DeleteFunc(out, func(r specs.POSIXRlimit) bool { return r.Type == typ })
		out = append(out, specs.POSIXRlimit{Type: typ, Soft: soft, Hard: hard})
	}
	return out, nil
}

// checkRlimit refuses the hard limits the kernel would refuse when
// libcontainer sets them (prlimit from edgerun on the container's init,
// once the container exists, which then fails to start with 126), so
// that --ulimit is refused up front instead. Linux's do_prlimit refuses
// exactly these:
//   - a soft limit above the hard one (EINVAL): ParseUlimit refuses it;
//   - a nofile hard limit above fs.nr_open (EPERM), unlimited included;
//   - a hard limit above the one the init inherited from edgerun, when
//     edgerun lacks CAP_SYS_RESOURCE in the initial user namespace
//     (EPERM): rootless, or inside a container that dropped it.
//
// No resource has another ceiling: any other value is taken as given.
func checkRlimit(flag, typ string, hard uint64, b *RlimitBounds) error {
	if typ == "RLIMIT_NOFILE" && hard > b.NrOpen {
		return fmt.Errorf("%w: --ulimit %q: the kernel allows a process at most %d open files (fs.nr_open), not %s: use a hard limit of at most %d",
			ErrInvalidOption, flag, b.NrOpen, formatRlimit(hard), b.NrOpen)
	}
	if own, ok := b.Hard[typ]; ok && hard > own {
		return fmt.Errorf("%w: --ulimit %q: the hard limit %s is above edgerun's own (%s), which edgerun cannot raise without CAP_SYS_RESOURCE (it runs rootless, or in a container without it): use a hard limit of at most %s, or start edgerun with a higher one",
			ErrInvalidOption, flag, formatRlimit(hard), formatRlimit(own), formatRlimit(own))
	}
	return nil
}

func formatRlimit(v uint64) string {
	if v == ^uint64(0) {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}
