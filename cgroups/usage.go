package cgroups

import (
	"os"
	"strconv"
	"strings"

	lcg "github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// Usage is one reading of a container's cgroup the way `stats` shows it.
// Figures the kernel does not give are left out (nil), never shown as 0.
type Usage struct {
	CPUTimeNs uint64 `json:"cpuTimeNs"`
	// MemoryAccounting is false when the kernel keeps no memory figures
	// for the container (the memory controller is disabled or missing);
	// Memory is nil then.
	MemoryAccounting bool `json:"memoryAccounting"`
	*Memory
	Pids      uint64 `json:"pids"`
	PidsLimit uint64 `json:"pidsLimit,omitempty"`
	// BlockRead and BlockWrite are the bytes read from and written to
	// block devices (docker's BLOCK I/O).
	BlockRead  uint64 `json:"blockReadBytes"`
	BlockWrite uint64 `json:"blockWriteBytes"`
	// MemPressure and CPUPressure are the cgroup's pressure stall figures
	// (PSI), which the kernel keeps per cgroup on cgroup v2 only.
	MemPressure *Pressure `json:"memPressure,omitempty"`
	CPUPressure *Pressure `json:"cpuPressure,omitempty"`
}

// Memory is the memory part of a Usage.
type Memory struct {
	MemUsage   uint64  `json:"memUsage"` // without the inactive page cache, as docker
	MemLimit   uint64  `json:"memLimit"` // the cgroup limit, or the host's memory
	MemPercent float64 `json:"memPercent"`
	// MemCache is page cache (files, tmpfs and shared memory included),
	// MemAnon anonymous memory (heap, stacks, private mappings).
	MemCache uint64 `json:"memCache"`
	MemAnon  uint64 `json:"memAnon"`
	// MemKernel is kernel memory charged to the cgroup (slab, kernel
	// stacks, page tables, ...; socket buffers apart); nil without a
	// cgroup.
	MemKernel *uint64 `json:"memKernel,omitempty"`
	// Swap is the swap the cgroup uses; nil when the kernel does not
	// account swap (or without a cgroup).
	Swap *uint64 `json:"swap,omitempty"`
}

// Pressure is the avg10 of a PSI file: the share of the last 10 seconds,
// in percent, in which some (or all) of the cgroup's tasks were stalled.
type Pressure struct {
	Some float64 `json:"someAvg10"`
	Full float64 `json:"fullAvg10"`
}

// UsageOf summarizes the cgroup statistics libcontainer reads (v1 or v2)
// as docker does: memory without the inactive page cache, and a limit
// that is the host's memory when the cgroup has none (or a larger one).
// memory says whether the host has the memory controller (Host's
// Controllers); without it, or when the library read no memory.stat for
// the cgroup, the usage has no memory figures.
func UsageOf(st *lcg.Stats, memory bool) Usage {
	u := Usage{CPUTimeNs: st.CpuStats.CpuUsage.TotalUsage, Pids: st.PidsStats.Current, PidsLimit: st.PidsStats.Limit}
	if memory && len(st.MemoryStats.Stats) > 0 {
		u.MemoryAccounting, u.Memory = true, memoryOf(&st.MemoryStats, hostMemory())
	}
	u.BlockRead, u.BlockWrite = blockIO(st.BlkioStats.IoServiceBytesRecursive)
	u.MemPressure, u.CPUPressure = pressureOf(st.MemoryStats.PSI), pressureOf(st.CpuStats.PSI)
	return u
}

// memoryOf reads the figures of v1's or v2's memory.stat (the library
// keeps each version's names) and usage files; total is the host's
// memory.
func memoryOf(mem *lcg.MemoryStats, total uint64) *Memory {
	m := &Memory{MemLimit: mem.Usage.Limit}
	s := mem.Stats
	var inactiveFile uint64
	if _, v1 := s["total_cache"]; v1 {
		// cgroup v1: the hierarchical total_ figures; total_rss counts
		// transparent huge pages too (total_rss_huge is a part of it).
		m.MemCache, m.MemAnon, inactiveFile = s["total_cache"], s["total_rss"], s["total_inactive_file"]
		m.MemKernel = ptr(mem.KernelUsage.Usage) // memory.kmem.usage_in_bytes
		if mem.SwapUsage.Limit > 0 {             // memory.memsw.* exist: swap is accounted
			m.Swap = ptr(sub(mem.SwapUsage.Usage, mem.Usage.Usage))
		}
	} else {
		m.MemCache, m.MemAnon, inactiveFile = s["file"], s["anon"], s["inactive_file"]
		m.MemKernel = ptr(kernelV2(s))
		// memory.swap.current exists: swap is accounted. (A memory.swap.max
		// of 0 reads as no file: unknown, where it is 0.)
		if sw := mem.SwapOnlyUsage; sw.Limit > 0 || sw.Usage > 0 {
			m.Swap = ptr(sw.Usage)
		}
	}
	m.MemUsage = mem.Usage.Usage
	if inactiveFile < m.MemUsage {
		m.MemUsage -= inactiveFile
	}
	if m.MemLimit == 0 || m.MemLimit > total {
		m.MemLimit = total
	}
	if m.MemLimit > 0 {
		m.MemPercent = float64(m.MemUsage) / float64(m.MemLimit) * 100
	}
	return m
}

// kernelV2 is cgroup v2's kernel memory: memory.stat's "kernel" (Linux
// 5.18 on), else the sum of the parts the kernel counts in it then: slab,
// kernel stacks, page tables, per-CPU and vmalloc memory. Socket buffers
// ("sock") are charged to the cgroup but are not in "kernel", nor here.
func kernelV2(s map[string]uint64) uint64 {
	if k, ok := s["kernel"]; ok {
		return k
	}
	slab, ok := s["slab"]
	if !ok {
		slab = s["slab_reclaimable"] + s["slab_unreclaimable"]
	}
	return slab + s["kernel_stack"] + s["pagetables"] + s["percpu"] + s["vmalloc"]
}

// blockIO sums the bytes read and written over every device, as docker
// (the library names v2's rbytes and wbytes Read and Write too).
func blockIO(entries []lcg.BlkioStatEntry) (read, write uint64) {
	for _, e := range entries {
		switch strings.ToLower(e.Op) {
		case "read":
			read += e.Value
		case "write":
			write += e.Value
		}
	}
	return read, write
}

func pressureOf(psi *lcg.PSIStats) *Pressure {
	if psi == nil {
		return nil
	}
	return &Pressure{Some: psi.Some.Avg10, Full: psi.Full.Avg10}
}

// sub is a-b, or 0 when b is larger: two files read one after the other
// may cross.
func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

func hostMemory() uint64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit) //nolint:unconvert // uint32 on 32-bit ARM
}

// UsageOfProcesses is the usage of a container that has no cgroup of its
// own (rootless without delegation), from procfs: the CPU time of its
// processes and of the children they reaped, the sum of their resident
// memory (shared pages counted in each process, so it errs high; the
// file-backed and shared part is MemCache, the rest MemAnon), and their
// number; the limit is the host's memory. No kernel memory, swap, block
// I/O or pressure: the kernel keeps those per cgroup.
func UsageOfProcesses(pids []int) Usage {
	m := &Memory{}
	u := Usage{MemoryAccounting: true, Memory: m}
	const ticksPerSecond = 100 // USER_HZ, the unit of /proc/PID/stat's times on Linux
	page := uint64(unix.Getpagesize())
	for _, pid := range pids {
		dir := "/proc/" + strconv.Itoa(pid)
		b, err := os.ReadFile(dir + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 22 {
			continue
		}
		// Fields from 3 (state): utime 14, stime 15, cutime 16, cstime 17.
		var ticks uint64
		for _, k := range []int{14, 15, 16, 17} {
			n, _ := strconv.ParseUint(f[k-3], 10, 64)
			ticks += n
		}
		u.CPUTimeNs += ticks * (1e9 / ticksPerSecond)
		u.Pids++
		// statm: size resident shared ... in pages; shared is the
		// resident file-backed and shared memory (RssFile + RssShmem).
		if b, err = os.ReadFile(dir + "/statm"); err != nil {
			continue
		}
		if f = strings.Fields(string(b)); len(f) < 3 {
			continue
		}
		rss, _ := strconv.ParseUint(f[1], 10, 64)
		shared, _ := strconv.ParseUint(f[2], 10, 64)
		m.MemUsage += rss * page
		m.MemCache += min(shared, rss) * page
		m.MemAnon += sub(rss, shared) * page
	}
	m.MemLimit = hostMemory()
	if m.MemLimit > 0 {
		m.MemPercent = float64(m.MemUsage) / float64(m.MemLimit) * 100
	}
	return u
}
