package cgroups

import (
	"encoding/json"
	"math"
	"os/exec"
	"reflect"
	"testing"
	"time"

	lcg "github.com/opencontainers/cgroups"
)

const mib = 1 << 20

// v1Stats is what libcontainer's fs manager reads from a cgroup v1
// memory hierarchy with swap accounting (memory.memsw.*): 64 MiB limit,
// 30 MiB charged, of which 4 MiB inactive page cache.
func v1Stats() *lcg.Stats {
	st := lcg.NewStats()
	st.CpuStats.CpuUsage.TotalUsage = 5e9
	st.MemoryStats.Usage = lcg.MemoryData{Usage: 30 * mib, Limit: 64 * mib}
	st.MemoryStats.SwapUsage = lcg.MemoryData{Usage: 32 * mib, Limit: 128 * mib}
	st.MemoryStats.SwapOnlyUsage = lcg.MemoryData{Usage: 2 * mib}
	st.MemoryStats.KernelUsage = lcg.MemoryData{Usage: 3 * mib}
	st.MemoryStats.Stats = map[string]uint64{
		"cache": 1, "rss": 1, "inactive_file": 1, // the cgroup's own: not these
		"total_cache": 8 * mib, "total_rss": 19 * mib, "total_rss_huge": 2 * mib, "total_inactive_file": 4 * mib,
	}
	st.PidsStats = lcg.PidsStats{Current: 3, Limit: 20}
	st.BlkioStats.IoServiceBytesRecursive = []lcg.BlkioStatEntry{
		{Major: 254, Op: "Read", Value: 4096}, {Major: 254, Op: "Write", Value: 8192},
		{Major: 254, Op: "Sync", Value: 12288}, {Major: 254, Op: "Async"}, {Major: 254, Op: "Discard"},
		{Major: 254, Op: "Total", Value: 12288}, {Major: 8, Op: "Read", Value: 1}, {Major: 8, Op: "Write", Value: 2},
	}
	return st
}

// v2Stats is what the fs2 manager reads from a cgroup v2 cgroup: no limit
// ("max"), swap accounted, PSI, io.stat's rbytes and wbytes as Read and
// Write.
func v2Stats() *lcg.Stats {
	st := lcg.NewStats()
	st.CpuStats.CpuUsage.TotalUsage = 7e9
	st.CpuStats.PSI = &lcg.PSIStats{Some: lcg.PSIData{Avg10: 12.5, Avg60: 3}, Full: lcg.PSIData{Avg10: 1.25}}
	st.MemoryStats.Usage = lcg.MemoryData{Usage: 40 * mib, Limit: 32 * mib}
	st.MemoryStats.SwapOnlyUsage = lcg.MemoryData{Usage: 5 * mib, Limit: math.MaxUint64}
	st.MemoryStats.SwapUsage = lcg.MemoryData{Usage: 45 * mib, Limit: math.MaxUint64}
	st.MemoryStats.PSI = &lcg.PSIStats{Some: lcg.PSIData{Avg10: 0.5}, Full: lcg.PSIData{Avg10: 0.25}}
	st.MemoryStats.Stats = map[string]uint64{
		"anon": 20 * mib, "file": 15 * mib, "kernel": 5 * mib, "inactive_file": 6 * mib,
		"kernel_stack": 1, "slab": 1, "sock": 1 * mib,
	}
	st.PidsStats = lcg.PidsStats{Current: 2}
	st.BlkioStats.IoServiceBytesRecursive = []lcg.BlkioStatEntry{
		{Major: 254, Op: "Read", Value: 1 << 20}, {Major: 254, Op: "Write", Value: 3 << 20}, {Major: 7, Op: "read", Value: 1},
	}
	st.BlkioStats.IoServicedRecursive = []lcg.BlkioStatEntry{{Major: 254, Op: "Read", Value: 99}}
	return st
}

func TestUsageOfSummarizesV1AndV2Stats(t *testing.T) {
	host := hostMemory()
	u64 := func(v uint64) *uint64 { return &v }
	cases := []struct {
		name   string
		stats  func() *lcg.Stats
		memory bool // the host has the memory controller
		want   Usage
	}{{
		name: "v1 with swap accounting", stats: v1Stats, memory: true,
		want: Usage{CPUTimeNs: 5e9, MemoryAccounting: true, Memory: &Memory{
			MemUsage: 26 * mib, MemLimit: 64 * mib, MemPercent: 26.0 / 64 * 100,
			MemCache: 8 * mib, MemAnon: 19 * mib, MemKernel: u64(3 * mib), Swap: u64(2 * mib),
		}, Pids: 3, PidsLimit: 20, BlockRead: 4097, BlockWrite: 8194},
	}, {
		name: "v1 without memsw: swap unknown", memory: true,
		stats: func() *lcg.Stats {
			st := v1Stats()
			// The library subtracts the usage from a memsw it did not find.
			st.MemoryStats.SwapUsage, st.MemoryStats.SwapOnlyUsage = lcg.MemoryData{}, lcg.MemoryData{Usage: math.MaxUint64 - 30*mib + 1}
			return st
		},
		want: Usage{CPUTimeNs: 5e9, MemoryAccounting: true, Memory: &Memory{
			MemUsage: 26 * mib, MemLimit: 64 * mib, MemPercent: 26.0 / 64 * 100,
			MemCache: 8 * mib, MemAnon: 19 * mib, MemKernel: u64(3 * mib),
		}, Pids: 3, PidsLimit: 20, BlockRead: 4097, BlockWrite: 8194},
	}, {
		name: "v1 memsw read before usage grew: no wrap-around", memory: true,
		stats: func() *lcg.Stats {
			st := v1Stats()
			st.MemoryStats.SwapUsage.Usage = 29 * mib
			return st
		},
		want: Usage{CPUTimeNs: 5e9, MemoryAccounting: true, Memory: &Memory{
			MemUsage: 26 * mib, MemLimit: 64 * mib, MemPercent: 26.0 / 64 * 100,
			MemCache: 8 * mib, MemAnon: 19 * mib, MemKernel: u64(3 * mib), Swap: u64(0),
		}, Pids: 3, PidsLimit: 20, BlockRead: 4097, BlockWrite: 8194},
	}, {
		name: "v2 with PSI, limit above the host's memory", memory: true,
		stats: func() *lcg.Stats {
			st := v2Stats()
			st.MemoryStats.Usage.Limit = math.MaxUint64 // "max"
			return st
		},
		want: Usage{CPUTimeNs: 7e9, MemoryAccounting: true, Memory: &Memory{
			MemUsage: 34 * mib, MemLimit: host, MemPercent: float64(34*mib) / float64(host) * 100,
			MemCache: 15 * mib, MemAnon: 20 * mib, MemKernel: u64(5 * mib), Swap: u64(5 * mib),
		}, Pids: 2, BlockRead: 1<<20 + 1, BlockWrite: 3 << 20,
			MemPressure: &Pressure{Some: 0.5, Full: 0.25}, CPUPressure: &Pressure{Some: 12.5, Full: 1.25}},
	}, {
		name: "v2 before Linux 5.18: kernel from its parts, no swap file, no PSI", memory: true,
		stats: func() *lcg.Stats {
			st := v2Stats()
			st.MemoryStats.PSI, st.CpuStats.PSI = nil, nil
			st.MemoryStats.SwapOnlyUsage, st.MemoryStats.SwapUsage = lcg.MemoryData{}, st.MemoryStats.Usage
			st.MemoryStats.Stats = map[string]uint64{
				"anon": 20 * mib, "file": 15 * mib, "inactive_file": 6 * mib, "sock": 1 * mib,
				"slab_reclaimable": 1 * mib, "slab_unreclaimable": 2 * mib, "kernel_stack": 512 << 10,
				"pagetables": 256 << 10, "percpu": 128 << 10,
			}
			return st
		},
		want: Usage{CPUTimeNs: 7e9, MemoryAccounting: true, Memory: &Memory{
			MemUsage: 34 * mib, MemLimit: 32 * mib, MemPercent: 34.0 / 32 * 100,
			MemCache: 15 * mib, MemAnon: 20 * mib, MemKernel: u64(3*mib + 896<<10),
		}, Pids: 2, BlockRead: 1<<20 + 1, BlockWrite: 3 << 20},
	}, {
		name: "v2 without the memory controller: PSI stays", memory: false,
		stats: func() *lcg.Stats {
			// What the fs2 manager returns for a cgroup without memory
			// files: an empty memory.stat map, zero usage, the PSI of
			// memory.pressure (a core file of every cgroup).
			st := lcg.NewStats()
			st.CpuStats.CpuUsage.TotalUsage = 1e9
			st.CpuStats.PSI = &lcg.PSIStats{}
			st.MemoryStats.PSI = &lcg.PSIStats{Some: lcg.PSIData{Avg10: 2}}
			st.PidsStats.Current = 1
			return st
		},
		want: Usage{CPUTimeNs: 1e9, Pids: 1, MemPressure: &Pressure{Some: 2}, CPUPressure: &Pressure{}},
	}, {
		name: "v1 without the memory hierarchy", memory: false,
		stats: func() *lcg.Stats {
			st := lcg.NewStats()
			st.CpuStats.CpuUsage.TotalUsage = 1e9
			st.PidsStats.Current = 1
			return st
		},
		want: Usage{CPUTimeNs: 1e9, Pids: 1},
	}, {
		name: "the host says no memory controller, whatever was read", memory: false, stats: v1Stats,
		want: Usage{CPUTimeNs: 5e9, Pids: 3, PidsLimit: 20, BlockRead: 4097, BlockWrite: 8194},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := UsageOf(tc.stats(), tc.memory)
			if !reflect.DeepEqual(got, tc.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tc.want)
				t.Errorf("UsageOf =\n%s\nwant\n%s", g, w)
			}
		})
	}
}

func TestUsageJSONLeavesOutWhatTheKernelDoesNotGive(t *testing.T) {
	cases := []struct {
		name      string
		u         Usage
		has, lack []string
	}{
		{"v1", UsageOf(v1Stats(), true),
			[]string{"memoryAccounting", "memUsage", "memLimit", "memPercent", "memCache", "memAnon", "memKernel", "swap", "blockReadBytes", "blockWriteBytes", "pids"},
			[]string{"memPressure", "cpuPressure"}},
		{"v2", UsageOf(v2Stats(), true),
			[]string{"memoryAccounting", "memUsage", "memKernel", "swap", "memPressure", "cpuPressure"}, nil},
		{"memory off", UsageOf(v2Stats(), false),
			[]string{"memoryAccounting", "pids", "cpuTimeNs", "memPressure"},
			[]string{"memUsage", "memLimit", "memPercent", "memCache", "memAnon", "memKernel", "swap"}},
	}
	for _, tc := range cases {
		b, err := json.Marshal(tc.u)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range tc.has {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: no %q in %s", tc.name, k, b)
			}
		}
		for _, k := range tc.lack {
			if _, ok := m[k]; ok {
				t.Errorf("%s: %q in %s", tc.name, k, b)
			}
		}
		if m["memoryAccounting"] != tc.u.MemoryAccounting {
			t.Errorf("%s: memoryAccounting in %s", tc.name, b)
		}
	}
}

func TestUsageOfProcessesReadsABusyProcess(t *testing.T) {
	// A child of its own, not this process: qemu-user (make cross-test)
	// answers /proc/self/stat for the emulated process with zeros.
	cmd := exec.Command("sh", "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sh to run: %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var u Usage
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if u = UsageOfProcesses([]int{cmd.Process.Pid, 1 << 30}); u.CPUTimeNs > 0 && u.MemUsage > 0 {
			break
		}
	}
	if u.Pids != 1 || u.CPUTimeNs == 0 || !u.MemoryAccounting || u.MemUsage == 0 || u.MemLimit == 0 || u.MemPercent <= 0 ||
		u.MemAnon == 0 || u.MemCache+u.MemAnon != u.MemUsage || u.MemKernel != nil || u.Swap != nil {
		t.Fatalf("usage of a busy shell (and of a process that cannot exist): %+v", u)
	}
}
