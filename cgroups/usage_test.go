package cgroups

import (
	"os"
	"testing"
	"time"
)

func TestUsageOfProcessesCountsThisProcess(t *testing.T) {
	start := time.Now()
	n := 0
	for time.Since(start) < 50*time.Millisecond {
		n++ // burn CPU for the CPU time below
	}
	u := UsageOfProcesses([]int{os.Getpid(), 1 << 30})
	if u.Pids != 1 || u.MemUsage == 0 || u.MemLimit == 0 || u.MemPercent <= 0 || u.CPUTimeNs == 0 {
		t.Fatalf("usage of this process (and one that cannot exist) after %d rounds of a busy wait: %+v", n, u)
	}
}
