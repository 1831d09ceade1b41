package cgroups

import (
	"os/exec"
	"testing"
	"time"
)

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
	if u.Pids != 1 || u.CPUTimeNs == 0 || u.MemUsage == 0 || u.MemLimit == 0 || u.MemPercent <= 0 {
		t.Fatalf("usage of a busy shell (and of a process that cannot exist): %+v", u)
	}
}
