package cgroups

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	// MinMemory is the smallest memory limit accepted, like docker's.
	MinMemory = 6 * 1024 * 1024
	// CPUPeriod is the CFS period, in microseconds, used for --cpus.
	CPUPeriod = 100000
	// minCPUQuota is the smallest CFS quota the kernel accepts (1ms).
	minCPUQuota    = 1000
	minCPUShares   = 2
	maxCPUShares   = 262144
	minOOMScoreAdj = -1000
	maxOOMScoreAdj = 1000
)

// Flags holds the limit flags exactly as the user typed them; an empty
// string means the flag was not given.
type Flags struct {
	Memory            string // --memory, e.g. "256m"
	MemorySwap        string // --memory-swap, memory+swap; "-1" is unlimited swap
	MemoryReservation string `json:",omitempty"` // --memory-reservation, the soft limit, e.g. "128m"
	KernelMemory      string `json:",omitempty"` // --kernel-memory: refused unless "" or "0"
	OOMKillDisable    bool   `json:",omitempty"` // --oom-kill-disable (cgroup v1 only)
	CPUs              string // --cpus, e.g. "1.5"
	CPUShares         string // --cpu-shares
	CPUSetCPUs        string // --cpuset-cpus, e.g. "0-2,4"
	PidsLimit         string // --pids-limit; "0" and "-1" are unlimited
	OOMScoreAdj       string // --oom-score-adj, -1000..1000
}

// Limits are parsed resource limits. Zero values mean "not set".
type Limits struct {
	Memory            int64   // bytes
	MemorySwap        int64   // bytes of memory+swap, -1 for unlimited swap
	MemoryReservation int64   // bytes of the soft limit (v1 soft_limit_in_bytes, v2 memory.low)
	OOMKillDisable    bool    // no OOM kill at the memory limit: the tasks wait (v1 only)
	NanoCPUs          int64   // CPUs in units of 1e-9
	CPUShares         uint64  // relative weight
	CPUSet            CPUList // CPUs the container may run on
	PidsLimit         int64   // maximum number of tasks, > 0 when set
	OOMScoreAdj       *int    // nil when not set
}

// CgroupFlags names the flags of l that need a cgroup (--oom-score-adj
// does not), in flag order.
func (l Limits) CgroupFlags() []string {
	var f []string
	for _, x := range []struct {
		set  bool
		name string
	}{
		{l.Memory != 0, "--memory"}, {l.MemorySwap > 0, "--memory-swap"},
		{l.MemoryReservation != 0, "--memory-reservation"}, {l.OOMKillDisable, "--oom-kill-disable"},
		{l.NanoCPUs != 0, "--cpus"}, {l.CPUShares != 0, "--cpu-shares"}, {len(l.CPUSet) > 0, "--cpuset-cpus"},
		{l.PidsLimit > 0, "--pids-limit"},
	} {
		if x.set {
			f = append(f, x.name)
		}
	}
	return f
}

// ParseLimits parses every limit flag and checks the ones that can be
// checked without looking at the host. Use Validate for the host checks.
func ParseLimits(f Flags) (Limits, error) {
	var l Limits
	var err error
	if l.Memory, err = ParseMemory(f.Memory); err != nil {
		return Limits{}, err
	}
	if l.MemorySwap, err = ParseMemorySwap(f.MemorySwap, l.Memory); err != nil {
		return Limits{}, err
	}
	if l.MemoryReservation, err = ParseMemoryReservation(f.MemoryReservation, l.Memory); err != nil {
		return Limits{}, err
	}
	if err := CheckKernelMemory(f.KernelMemory); err != nil {
		return Limits{}, err
	}
	l.OOMKillDisable = f.OOMKillDisable
	if l.NanoCPUs, err = ParseCPUs(f.CPUs); err != nil {
		return Limits{}, err
	}
	if l.CPUShares, err = ParseCPUShares(f.CPUShares); err != nil {
		return Limits{}, err
	}
	if l.CPUSet, err = ParseCPUList(f.CPUSetCPUs); err != nil {
		return Limits{}, fmt.Errorf("--cpuset-cpus %q: %w", f.CPUSetCPUs, err)
	}
	if l.PidsLimit, err = ParsePidsLimit(f.PidsLimit); err != nil {
		return Limits{}, err
	}
	if l.OOMScoreAdj, err = ParseOOMScoreAdj(f.OOMScoreAdj); err != nil {
		return Limits{}, err
	}
	return l, nil
}

// ParseMemory parses --memory ("256m", "1g", "512k", "1048576b"; units are
// powers of 1024). "" and "0" mean no limit. Values under 6 MiB are refused.
func ParseMemory(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: --memory %q: want a size like 256m or 1g (units b, k, m, g)", ErrInvalidLimit, s)
	}
	if n != 0 && n < MinMemory {
		return 0, fmt.Errorf("%w: --memory %q: the minimum memory limit is 6m", ErrInvalidLimit, s)
	}
	return n, nil
}

// ParseMemorySwap parses --memory-swap, the total of memory and swap. "-1"
// means unlimited swap; "" and "0" mean unset. It needs --memory and must
// not be smaller than it.
func ParseMemorySwap(s string, memory int64) (int64, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	if memory == 0 {
		return 0, fmt.Errorf("%w: --memory-swap %q needs --memory as well: set --memory too, or drop --memory-swap", ErrInvalidLimit, s)
	}
	if s == "-1" {
		return -1, nil
	}
	n, err := units.RAMInBytes(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: --memory-swap %q: want a size like 512m, or -1 for unlimited swap", ErrInvalidLimit, s)
	}
	if n < memory {
		return 0, fmt.Errorf("%w: --memory-swap %q is smaller than --memory (%s): it is the total of memory and swap, so make it at least as large as --memory", ErrInvalidLimit, s, units.BytesSize(float64(memory)))
	}
	return n, nil
}

// ParseMemoryReservation parses --memory-reservation, docker's soft limit,
// in --memory's units. "" and "0" mean unset; values under 6 MiB are
// refused, and with --memory it may not be above it (docker's rule).
func ParseMemoryReservation(s string, memory int64) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: --memory-reservation %q: want a size like 128m or 1g (units b, k, m, g)", ErrInvalidLimit, s)
	}
	if n != 0 && n < MinMemory {
		return 0, fmt.Errorf("%w: --memory-reservation %q: the minimum memory reservation is 6m", ErrInvalidLimit, s)
	}
	if memory > 0 && n > memory {
		return 0, fmt.Errorf("%w: --memory-reservation %q is above --memory (%s): the reservation is a soft limit the kernel reclaims down to "+
			"when memory is short, so it must be at most the hard limit: lower --memory-reservation or raise --memory",
			ErrInvalidLimit, s, units.BytesSize(float64(memory)))
	}
	return n, nil
}

// CheckKernelMemory refuses --kernel-memory ("" and "0", no limit, pass):
// Linux has no kernel memory limit to set any more. cgroup v1's
// memory.kmem.limit_in_bytes was deprecated in 5.4 (a warning) and
// refuses every value since 5.16; 6.6 removed the file and brought it
// back in the same release as a knob that ignores what is written, for
// old runtimes that fail without it. cgroup v2 never had one. Kernel
// memory is charged to the memory limit instead: on v2 always, on v1
// since kernel memory accounting is on by default (4.6). docker ignores
// the flag on v2 with a warning; a gateway's firmware reads no warnings,
// so edgerun refuses it.
func CheckKernelMemory(s string) error {
	if s == "" || s == "0" {
		return nil
	}
	return fmt.Errorf("%w: --kernel-memory %q: Linux no longer limits kernel memory separately "+
		"(cgroup v1's memory.kmem.limit_in_bytes was deprecated in 5.4 and sets nothing since 5.16; cgroup v2 never had it), "+
		"and a container's kernel memory counts against --memory: drop --kernel-memory, and size --memory to include it",
		ErrUnsupportedLimit, s)
}

// ParseCPUs parses --cpus ("1.5") into nano CPUs. "" and "0" mean unset;
// the smallest value is 0.01.
func ParseCPUs(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() < 0 || strings.ContainsAny(s, "/eE") {
		return 0, fmt.Errorf("%w: --cpus %q: want a decimal number of CPUs like 1.5", ErrInvalidLimit, s)
	}
	nano := r.Mul(r, big.NewRat(1e9, 1))
	if !nano.IsInt() {
		return 0, fmt.Errorf("%w: --cpus %q: too many decimal places", ErrInvalidLimit, s)
	}
	if nano.Num().BitLen() > 62 {
		return 0, fmt.Errorf("%w: --cpus %q is too large", ErrInvalidLimit, s)
	}
	n := nano.Num().Int64()
	if n != 0 && n*CPUPeriod/1e9 < minCPUQuota {
		return 0, fmt.Errorf("%w: --cpus %q: the smallest value is 0.01", ErrInvalidLimit, s)
	}
	return n, nil
}

// ParseCPUShares parses --cpu-shares, a relative weight between 2 and
// 262144 (1024 is the default weight). "" and "0" mean unset.
func ParseCPUShares(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || (n != 0 && (n < minCPUShares || n > maxCPUShares)) {
		return 0, fmt.Errorf("%w: --cpu-shares %q: want a whole number between %d and %d (1024 is the default weight)", ErrInvalidLimit, s, minCPUShares, maxCPUShares)
	}
	return n, nil
}

// ParsePidsLimit parses --pids-limit. "", "0" and "-1" mean unlimited and
// return 0.
func ParsePidsLimit(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < -1 {
		return 0, fmt.Errorf("%w: --pids-limit %q: want a positive number of processes, or -1 for unlimited", ErrInvalidLimit, s)
	}
	if n == -1 {
		return 0, nil
	}
	return n, nil
}

// ParseOOMScoreAdj parses --oom-score-adj (-1000..1000).
func ParseOOMScoreAdj(s string) (*int, error) {
	if s == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < minOOMScoreAdj || n > maxOOMScoreAdj {
		return nil, fmt.Errorf("%w: --oom-score-adj %q: want a whole number between %d and %d", ErrInvalidLimit, s, minOOMScoreAdj, maxOOMScoreAdj)
	}
	return &n, nil
}

// CPUQuota returns the CFS quota for CPUPeriod, or 0 when --cpus is unset.
func (l Limits) CPUQuota() int64 {
	if l.NanoCPUs == 0 {
		return 0
	}
	q := l.NanoCPUs / (1e9 / CPUPeriod)
	if q > math.MaxInt64/2 {
		q = math.MaxInt64 / 2
	}
	return q
}

// Resources converts the limits into runtime-spec resources. It returns nil
// when no cgroup limit is set (--oom-score-adj is a process setting, not a
// cgroup one; see OOMScoreAdj).
func (l Limits) Resources() *specs.LinuxResources {
	var r specs.LinuxResources
	set := false
	if l.Memory > 0 || l.MemoryReservation > 0 || l.OOMKillDisable {
		mem := &specs.LinuxMemory{}
		if l.Memory > 0 {
			mem.Limit = ptr(l.Memory)
		}
		if l.MemorySwap != 0 {
			mem.Swap = ptr(l.MemorySwap)
		}
		if l.MemoryReservation > 0 {
			mem.Reservation = ptr(l.MemoryReservation)
		}
		if l.OOMKillDisable {
			mem.DisableOOMKiller = ptr(true)
		}
		r.Memory, set = mem, true
	}
	if l.NanoCPUs > 0 || l.CPUShares > 0 || len(l.CPUSet) > 0 {
		cpu := &specs.LinuxCPU{}
		if l.NanoCPUs > 0 {
			cpu.Quota, cpu.Period = ptr(l.CPUQuota()), ptr(uint64(CPUPeriod))
		}
		if l.CPUShares > 0 {
			cpu.Shares = ptr(l.CPUShares)
		}
		cpu.Cpus = l.CPUSet.String()
		r.CPU, set = cpu, true
	}
	if l.PidsLimit > 0 {
		r.Pids, set = &specs.LinuxPids{Limit: ptr(l.PidsLimit)}, true
	}
	if !set {
		return nil
	}
	return &r
}

func ptr[T any](v T) *T { return &v }
