package e2e

import (
	"encoding/json"
	"github.com/edgerun/edgerun/internal/testenv"
	"strings"
	"testing"
)

func TestStatsReportsCPUMemoryLimitAndPids(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, limitsWhy)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "burn", "--memory", "64m", "busybox", "sh", "-c", "sleep 1000 & while :; do :; done")
	var st struct {
		Name       string  `json:"name"`
		CPUPercent float64 `json:"cpuPercent"`
		CPUTimeNs  uint64  `json:"cpuTimeNs"`
		MemUsage   uint64  `json:"memUsage"`
		MemLimit   uint64  `json:"memLimit"`
		Pids       uint64  `json:"pids"`
	}
	out := e.must("stats", "--no-stream", "--format", "json", "burn")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("stats --format json: %v\n%s", err, out)
	}
	if st.Name != "burn" || st.CPUTimeNs == 0 || st.CPUPercent <= 0 || st.MemUsage == 0 || st.MemLimit != 64<<20 || st.Pids != 2 {
		t.Fatalf("stats of a busy container with --memory 64m and 2 processes: %+v", st)
	}
	table := e.must("stats", "--no-stream")
	if !strings.Contains(table, "MEM USAGE / LIMIT") || !strings.Contains(table, "/ 64MiB") {
		t.Fatalf("stats table:\n%s", table)
	}
	e.must("stop", "-t", "0", "burn")
	if r := e.run("stats", "--no-stream", "burn"); r.code != 1 || !strings.Contains(r.stderr, "not running") {
		t.Fatalf("stats of a stopped container: want exit 1, not running: %s", r)
	}
	id := e.inspectLife("burn").ID
	if out := e.must("prune"); !strings.Contains(out, id) || e.run("inspect", id).code == 0 {
		t.Fatalf("prune did not remove the stopped container: %q", out)
	}
}
