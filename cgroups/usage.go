package cgroups

import (
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
