package cgroups

import (
	"os"
	"strconv"
	"strings"

	lcg "github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// Usage is one reading of a container's cgroup the way `stats` shows it.
type Usage struct {
	CPUTimeNs  uint64  `json:"cpuTimeNs"`
	MemUsage   uint64  `json:"memUsage"` // without the reclaimable page cache, as docker
	MemLimit   uint64  `json:"memLimit"` // the cgroup limit, or the host's memory
	MemPercent float64 `json:"memPercent"`
	Pids       uint64  `json:"pids"`
	PidsLimit  uint64  `json:"pidsLimit,omitempty"`
}

// UsageOf summarizes the cgroup statistics libcontainer reads (v1 or v2)
// as docker does: memory without the inactive page cache, and a limit
// that is the host's memory when the cgroup has none (or a larger one).
func UsageOf(st *lcg.Stats) Usage {
	u := Usage{CPUTimeNs: st.CpuStats.CpuUsage.TotalUsage}
	mem := st.MemoryStats
	u.MemUsage = mem.Usage.Usage
	for _, k := range []string{"total_inactive_file", "inactive_file"} {
		if v, ok := mem.Stats[k]; ok && v < u.MemUsage {
			u.MemUsage -= v
			break
		}
	}
	u.MemLimit = mem.Usage.Limit
	if total := hostMemory(); u.MemLimit == 0 || u.MemLimit > total {
		u.MemLimit = total
	}
	if u.MemLimit > 0 {
		u.MemPercent = float64(u.MemUsage) / float64(u.MemLimit) * 100
	}
	u.Pids, u.PidsLimit = st.PidsStats.Current, st.PidsStats.Limit
	return u
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
// memory (shared pages counted in each process, so it errs high), and
// their number; the limit is the host's memory.
func UsageOfProcesses(pids []int) Usage {
	var u Usage
	const ticksPerSecond = 100 // USER_HZ, the unit of /proc/PID/stat's times on Linux
	page := uint64(unix.Getpagesize())
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
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
		// Fields from 3 (state): utime 14, stime 15, cutime 16, cstime 17, rss 24.
		var ticks uint64
		for _, k := range []int{14, 15, 16, 17} {
			n, _ := strconv.ParseUint(f[k-3], 10, 64)
			ticks += n
		}
		u.CPUTimeNs += ticks * (1e9 / ticksPerSecond)
		rss, _ := strconv.ParseUint(f[24-3], 10, 64)
		u.MemUsage += rss * page
		u.Pids++
	}
	u.MemLimit = hostMemory()
	if u.MemLimit > 0 {
		u.MemPercent = float64(u.MemUsage) / float64(u.MemLimit) * 100
	}
	return u
}
