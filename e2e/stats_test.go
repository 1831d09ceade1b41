package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/internal/testenv"
)

// requireMemoryController skips where the kernel keeps no memory figures
// (the VM matrix's nomemory legs; TestStatsMemoryDisabledSaysAccountingIsOff
// covers them).
func requireMemoryController(t *testing.T) {
	t.Helper()
	if memoryControllerDisabled(t) {
		t.Skip("the memory cgroup controller is disabled on this kernel")
	}
}

func TestStatsReportsCPUMemoryLimitAndPids(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, limitsWhy)
	requireMemoryController(t)
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
	if !strings.Contains(table, "MEM USAGE / LIMIT") || !strings.Contains(table, "BLOCK I/O") || !strings.Contains(table, "/ 64MiB") {
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

// statsJSON is one object of stats --format json; a figure the kernel
// does not give is absent (nil).
type statsJSON struct {
	CPUTimeNs        uint64         `json:"cpuTimeNs"`
	MemoryAccounting bool           `json:"memoryAccounting"`
	MemUsage         *uint64        `json:"memUsage"`
	MemLimit         *uint64        `json:"memLimit"`
	MemCache         *uint64        `json:"memCache"`
	MemAnon          *uint64        `json:"memAnon"`
	MemKernel        *uint64        `json:"memKernel"`
	Swap             *uint64        `json:"swap"`
	Pids             uint64         `json:"pids"`
	BlockRead        uint64         `json:"blockReadBytes"`
	BlockWrite       uint64         `json:"blockWriteBytes"`
	MemPressure      *statsPressure `json:"memPressure"`
	CPUPressure      *statsPressure `json:"cpuPressure"`
}

type statsPressure struct {
	Some float64 `json:"someAvg10"`
	Full float64 `json:"fullAvg10"`
}

// Every figure of stats, on cgroup v1 (this host, hybrid) and v2 (the VM
// matrix's v2 and rootless legs), against the cgroup files this test
// reads itself before and after stats reads them. The container holds
// 16 MiB of anonymous memory (a shell variable), wrote 4 MiB to its root
// file system with fsync and read busybox: block I/O is whatever the
// cgroup's own files count (overlay's writeback may not be charged to the
// container on v1), compared, not assumed.
func TestStatsFieldsMatchTheCgroupFiles(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, limitsWhy)
	requireMemoryController(t)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "held", "--memory", "64m", "busybox", "sh", "-c",
		`x=$(head -c 16777216 /dev/zero | tr '\0' a); dd if=/dev/zero of=/f bs=1M count=4 conv=fsync 2>/dev/null; `+
			`cat /bin/busybox >/dev/null; echo ready; while :; do sleep 1000; done; echo ${#x}`)
	e.waitLogs("held", "ready")
	pid := e.inspect("held").Pid
	before := readStatsFiles(t, pid)
	out := e.must("stats", "--no-stream", "--format", "json", "held")
	after := readStatsFiles(t, pid)
	var st statsJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("stats --format json: %v\n%s", err, out)
	}
	t.Logf("stats: %s\nthe cgroup files before: %s\nafter: %s", strings.TrimSpace(out), before, after)
	within := func(what string, got *uint64, a, b, slack uint64) {
		t.Helper()
		lo, hi := min(a, b), max(a, b)
		switch {
		case got == nil:
			t.Errorf("%s: absent from stats, the cgroup files say %d..%d:\n%s", what, lo, hi, out)
		case *got+slack < lo || *got > hi+slack:
			t.Errorf("%s = %d, the cgroup files say %d..%d (±%d):\n%s", what, *got, lo, hi, slack, out)
		}
	}
	// memory.stat's per-CPU batches and v2's lazy flushing let it lag the
	// usage file by a few hundred KiB.
	const slack = 1 << 20
	if !st.MemoryAccounting || st.MemLimit == nil || *st.MemLimit != 64<<20 {
		t.Errorf("memory accounting and the 64m limit: %s", out)
	}
	within("memUsage", st.MemUsage, before.usage, after.usage, slack)
	within("memCache", st.MemCache, before.cache, after.cache, slack)
	within("memAnon", st.MemAnon, before.anon, after.anon, slack)
	within("memKernel", st.MemKernel, before.kernel, after.kernel, slack)
	if st.MemAnon == nil || *st.MemAnon < 16<<20 {
		t.Errorf("memAnon below the 16 MiB the container holds: %s", out)
	}
	if before.swap == nil {
		if st.Swap != nil {
			t.Errorf("swap %d on a kernel that does not account swap: %s", *st.Swap, out)
		}
	} else {
		within("swap", st.Swap, *before.swap, *after.swap, slack)
	}
	within("cpuTimeNs", &st.CPUTimeNs, before.cpu, after.cpu, 0)
	within("pids", &st.Pids, before.pids, after.pids, 0)
	within("blockReadBytes", &st.BlockRead, before.read, after.read, 0)
	within("blockWriteBytes", &st.BlockWrite, before.write, after.write, 0)
	if st.Pids != 2 {
		t.Errorf("pids %d, want 2 (sh and sleep): %s", st.Pids, out)
	}
	checkStatsPressure(t, "memPressure", st.MemPressure, before.memPSI, out)
	checkStatsPressure(t, "cpuPressure", st.CPUPressure, before.cpuPSI, out)

	// The table: docker's columns, and the pressure ones only with PSI.
	table := strings.Split(e.must("stats", "--no-stream", "held"), "\n")
	docker := regexp.MustCompile(`^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS( +MEM PSI +CPU PSI)?$`)
	if m := docker.FindStringSubmatch(table[0]); m == nil || (m[1] != "") != before.memPSI {
		t.Errorf("stats table header %q: want docker's columns, with MEM PSI and CPU PSI only on a kernel with PSI (%v)", table[0], before.memPSI)
	}
	row := e.must("stats", "--no-stream", "--format", "{{.MemUsage}}|{{.MemCache}}|{{.MemAnon}}|{{.MemKernel}}|{{.Swap}}|{{.BlockIO}}|{{.MemPressure}}|{{.CPUPressure}}", "held")
	f := strings.Split(strings.TrimSpace(row), "|")
	if len(f) != 8 || !strings.HasSuffix(f[0], " / 64MiB") || !strings.Contains(f[5], " / ") ||
		(f[4] == "--") != (before.swap == nil) || (f[6] == "--") != !before.memPSI || (f[7] == "--") != !before.cpuPSI {
		t.Errorf("stats template fields: %q (swap accounted %v, PSI %v/%v)", row, before.swap != nil, before.memPSI, before.cpuPSI)
	}
	e.must("rm", "-f", "held")
}

func checkStatsPressure(t *testing.T, what string, p *statsPressure, has bool, out string) {
	t.Helper()
	switch {
	case has && p == nil:
		t.Errorf("%s: absent, but the container's cgroup has PSI (cgroup v2): %s", what, out)
	case !has && p != nil:
		t.Errorf("%s: present without per-cgroup PSI (cgroup v1 keeps none): %s", what, out)
	case p != nil && (p.Some < 0 || p.Some > 100 || p.Full < 0 || p.Full > 100):
		t.Errorf("%s: avg10 outside 0..100: %s", what, out)
	}
}

// statsFiles are a container's figures as its cgroup files give them.
type statsFiles struct {
	usage, cache, anon, kernel uint64
	swap                       *uint64 // nil: swap not accounted
	cpu, pids, read, write     uint64
	memPSI, cpuPSI             bool // the cgroup has memory.pressure, cpu.pressure (v2)
}

func (f statsFiles) String() string {
	swap := "not accounted"
	if f.swap != nil {
		swap = strconv.FormatUint(*f.swap, 10)
	}
	return fmt.Sprintf("usage %d cache %d anon %d kernel %d swap %s cpu %d pids %d read %d write %d psi %v/%v",
		f.usage, f.cache, f.anon, f.kernel, swap, f.cpu, f.pids, f.read, f.write, f.memPSI, f.cpuPSI)
}

// readStatsFiles reads the cgroup files of process pid's cgroups (v1: one
// per controller; v2: one directory), as docs/cli.md describes stats'
// figures.
func readStatsFiles(t *testing.T, pid int) statsFiles {
	t.Helper()
	memDir, v2 := cgroupDir(t, pid, "memory")
	stat := cgroupKeyValues(t, filepath.Join(memDir, "memory.stat"))
	var f statsFiles
	if v2 {
		f.usage = floorSub(cgroupUint(t, memDir, "memory.current"), stat["inactive_file"])
		f.cache, f.anon, f.kernel = stat["file"], stat["anon"], stat["kernel"]
		if _, ok := stat["kernel"]; !ok {
			f.kernel = stat["slab_reclaimable"] + stat["slab_unreclaimable"] + stat["kernel_stack"] + stat["pagetables"] + stat["percpu"] + stat["vmalloc"]
		}
		if _, err := os.Stat(filepath.Join(memDir, "memory.swap.current")); err == nil {
			s := cgroupUint(t, memDir, "memory.swap.current")
			f.swap = &s
		}
		f.cpu = cgroupKeyValues(t, filepath.Join(memDir, "cpu.stat"))["usage_usec"] * 1000
		f.pids = cgroupUint(t, memDir, "pids.current")
		for _, line := range cgroupLines(t, filepath.Join(memDir, "io.stat")) {
			// MAJ:MIN rbytes=N wbytes=N rios=N ...
			for _, kv := range strings.Fields(line) {
				k, v, _ := strings.Cut(kv, "=")
				n, _ := strconv.ParseUint(v, 10, 64)
				switch k {
				case "rbytes":
					f.read += n
				case "wbytes":
					f.write += n
				}
			}
		}
		_, err := os.ReadFile(filepath.Join(memDir, "memory.pressure"))
		f.memPSI = err == nil
		_, err = os.ReadFile(filepath.Join(memDir, "cpu.pressure"))
		f.cpuPSI = err == nil
		return f
	}
	usage := cgroupUint(t, memDir, "memory.usage_in_bytes")
	f.usage = floorSub(usage, stat["total_inactive_file"])
	f.cache, f.anon = stat["total_cache"], stat["total_rss"]
	f.kernel = cgroupUint(t, memDir, "memory.kmem.usage_in_bytes")
	if _, err := os.Stat(filepath.Join(memDir, "memory.memsw.usage_in_bytes")); err == nil {
		s := floorSub(cgroupUint(t, memDir, "memory.memsw.usage_in_bytes"), usage)
		f.swap = &s
	}
	cpuDir, _ := cgroupDir(t, pid, "cpuacct")
	f.cpu = cgroupUint(t, cpuDir, "cpuacct.usage")
	pidsDir, _ := cgroupDir(t, pid, "pids")
	f.pids = cgroupUint(t, pidsDir, "pids.current")
	blkDir, _ := cgroupDir(t, pid, "blkio")
	// The first of the files libcontainer tries that has entries.
	for _, name := range []string{"blkio.bfq.io_service_bytes_recursive", "blkio.io_service_bytes_recursive",
		"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes"} {
		lines := cgroupLines(t, filepath.Join(blkDir, name))
		for _, line := range lines {
			if x := strings.Fields(line); len(x) == 3 {
				n, _ := strconv.ParseUint(x[2], 10, 64)
				switch strings.ToLower(x[1]) {
				case "read":
					f.read += n
				case "write":
					f.write += n
				}
			}
		}
		if len(lines) > 1 || (len(lines) == 1 && !strings.HasPrefix(lines[0], "Total")) {
			break
		}
	}
	return f
}

func floorSub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// cgroupLines is a cgroup file's lines; none when it does not exist or
// is empty (io.stat of a cgroup that did no I/O).
func cgroupLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("read %s: %v", file, err)
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return nil
	}
	return strings.Split(text, "\n")
}

func cgroupKeyValues(t *testing.T, file string) map[string]uint64 {
	t.Helper()
	m := map[string]uint64{}
	for _, line := range cgroupLines(t, file) {
		if k, v, ok := strings.Cut(line, " "); ok {
			m[k], _ = strconv.ParseUint(v, 10, 64)
		}
	}
	return m
}

func cgroupUint(t *testing.T, dir, name string) uint64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("read the container's cgroup: %v", err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatalf("%s/%s: %v", dir, name, err)
	}
	return n
}

// On a kernel without the memory controller (the VM matrix's nomemory
// leg, booted with cgroup_disable=memory) stats shows no memory figure
// rather than zeros, and says once why and how to enable it.
func TestStatsMemoryDisabledSaysAccountingIsOff(t *testing.T) {
	requireMemoryControllerDisabled(t)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	for _, name := range []string{"a", "b"} {
		e.runD("--name", name, "busybox", "sleep", "1000")
	}
	// docs/cli.md's Error messages: "note: memory accounting is off on this kernel (", then the reason,
	// "), so stats shows no memory figures (--): ", then the fix.
	noteRe := regexp.MustCompile(`edgerun: note: memory accounting is off on this kernel \(the memory cgroup controller is ` +
		`(disabled by cgroup_disable=memory on the kernel command line|not enabled)\), so stats shows no memory figures \(--\): ` +
		`(remove cgroup_disable=memory and )?add ` + "`cgroup_enable=memory cgroup_memory=1`" + ` to the single line of /boot/firmware/cmdline.txt .* and reboot\n`)
	note := func(what, stderr string) {
		t.Helper()
		if n := len(noteRe.FindAllString(stderr, -1)); n != 1 || strings.Count(stderr, "memory accounting is off") != 1 {
			t.Errorf("%s: want the note once (%d), with the cmdline.txt fix:\n%s", what, n, stderr)
		}
	}
	r := e.run("stats", "--no-stream")
	t.Logf("stats --no-stream:\n%s%s", r.stdout, r.stderr)
	note("stats --no-stream", r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 3 {
		t.Fatalf("stats --no-stream of 2 containers: %s", r)
	}
	for _, l := range lines[1:] {
		// ID NAME CPU% MEM-USAGE MEM% NET-I/O BLOCK-I/O PIDS [PSI...]
		if c := regexp.MustCompile(`\s{2,}`).Split(l, -1); len(c) < 8 || c[3] != "--" || c[4] != "--" || c[7] != "1" {
			t.Errorf("stats row %q: want -- for MEM USAGE / LIMIT and MEM %%, 1 PID", l)
		}
	}
	r = e.run("stats", "--no-stream", "--format", "{{.MemUsage}} {{.MemPerc}} {{.MemCache}} {{.MemAnon}} {{.MemKernel}} {{.Swap}}", "a")
	if strings.TrimSpace(r.stdout) != "-- -- -- -- -- --" {
		t.Errorf("stats template of the memory fields: %s", r)
	}
	r = e.run("stats", "--no-stream", "--format", "json", "a")
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("stats --format json: %v\n%s", err, r)
	}
	for _, k := range []string{"memUsage", "memLimit", "memPercent", "memCache", "memAnon", "memKernel", "swap"} {
		if _, ok := m[k]; ok {
			t.Errorf("stats json has %s without memory accounting: %s", k, r.stdout)
		}
	}
	if m["memoryAccounting"] != false || m["pids"] != 1.0 {
		t.Errorf("stats json: want memoryAccounting false and 1 pid: %s", r.stdout)
	}
	// Streaming: the note once, not once a round.
	b := e.start("stats", "--format", "{{.Name}}", "a")
	b.waitLine(t, "a")
	b.waitLine(t, "a")
	_ = b.cmd.Process.Kill()
	b.wait(t)
	note("stats (streaming two rounds)", b.stderr.String())
	e.must("rm", "-f", "a", "b")
}
