package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/container"
)

const statsID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func u64(v uint64) *uint64 { return &v }

// Rounds as container.Stats measures them on the three kinds of host.
var (
	statsV1 = container.ContainerStats{ID: statsID, Name: "web", CPUPercent: 12.5, NetRx: 1234, NetTx: 0,
		Usage: cgroups.Usage{MemoryAccounting: true, Memory: &cgroups.Memory{
			MemUsage: 26 << 20, MemLimit: 64 << 20, MemPercent: 40.625,
			MemCache: 8 << 20, MemAnon: 19 << 20, MemKernel: u64(3 << 20), Swap: u64(0),
		}, Pids: 3, BlockRead: 1234567, BlockWrite: 0}}
	statsV2 = container.ContainerStats{ID: statsID, Name: "web", CPUPercent: 100,
		Usage: cgroups.Usage{MemoryAccounting: true, Memory: &cgroups.Memory{
			MemUsage: 1 << 30, MemLimit: 2 << 30, MemPercent: 50, MemCache: 512 << 20, MemAnon: 600 << 20, MemKernel: u64(5 << 20),
		}, Pids: 2, BlockRead: 3 << 20, BlockWrite: 1500,
			MemPressure: &cgroups.Pressure{Some: 1.5, Full: 0.25}, CPUPressure: &cgroups.Pressure{Some: 12.34, Full: 1}}}
	statsNoMemory = container.ContainerStats{ID: statsID, Name: "web", CPUPercent: 0.5,
		Usage: cgroups.Usage{Pids: 1, MemPressure: &cgroups.Pressure{}, CPUPressure: &cgroups.Pressure{}}}
)

func TestStatsRowShowsWhatTheKernelGivesAndDashesTheRest(t *testing.T) {
	cases := []struct {
		name string
		in   container.ContainerStats
		want statsRow
	}{
		{"cgroup v1", statsV1, statsRow{Container: "web", Name: "web", ID: "0123456789ab", CPUPerc: "12.50%",
			MemUsage: "26MiB / 64MiB", MemPerc: "40.62%", NetIO: "1.23kB / 0B", BlockIO: "1.23MB / 0B", PIDs: "3",
			MemCache: "8MiB", MemAnon: "19MiB", MemKernel: "3MiB", Swap: "0B", MemPressure: "--", CPUPressure: "--"}},
		{"cgroup v2 with PSI, no swap accounting", statsV2, statsRow{Container: "web", Name: "web", ID: "0123456789ab",
			CPUPerc: "100.00%", MemUsage: "1GiB / 2GiB", MemPerc: "50.00%", NetIO: "0B / 0B", BlockIO: "3.15MB / 1.5kB",
			PIDs: "2", MemCache: "512MiB", MemAnon: "600MiB", MemKernel: "5MiB", Swap: "--", MemPressure: "1.50 / 0.25", CPUPressure: "12.34"}},
		{"memory accounting off", statsNoMemory, statsRow{Container: "web", Name: "web", ID: "0123456789ab", CPUPerc: "0.50%",
			MemUsage: "--", MemPerc: "--", NetIO: "0B / 0B", BlockIO: "0B / 0B", PIDs: "1",
			MemCache: "--", MemAnon: "--", MemKernel: "--", Swap: "--", MemPressure: "0.00 / 0.00", CPUPressure: "0.00"}},
	}
	for _, tc := range cases {
		if got := newStatsRow(tc.in); got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

func TestStatsTableAddsPressureColumnsOnlyWithPSI(t *testing.T) {
	const docker = "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O       BLOCK I/O     PIDS"
	cases := []struct {
		name   string
		round  []container.ContainerStats
		header string
		row    string
	}{
		{"v1: docker's columns", []container.ContainerStats{statsV1}, docker,
			"0123456789ab   web       12.50%    26MiB / 64MiB       40.62%    1.23kB / 0B   1.23MB / 0B   3"},
		{"v2: pressure at the end", []container.ContainerStats{statsV2}, "",
			"0123456789ab   web       100.00%   1GiB / 2GiB         50.00%    0B / 0B   3.15MB / 1.5kB   2         1.50 / 0.25   12.34"},
		{"memory off", []container.ContainerStats{statsNoMemory}, "",
			"0123456789ab   web       0.50%     --                  --        0B / 0B   0B / 0B     1         0.00 / 0.00   0.00"},
		{"mixed round", []container.ContainerStats{statsV1, statsNoMemory}, "", ""},
	}
	for _, tc := range cases {
		var stdout, stderr bytes.Buffer
		o, err := newStatsOutput(&globalOptions{Stdout: &stdout, Stderr: &stderr}, "", false)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.emit(tc.round); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
		psi := false
		for _, s := range tc.round {
			psi = psi || s.MemPressure != nil
		}
		if psi != strings.Contains(lines[0], "MEM PSI") || psi != strings.HasSuffix(strings.TrimSpace(lines[0]), "CPU PSI") {
			t.Errorf("%s: header %q, want pressure columns %v", tc.name, lines[0], psi)
		}
		if tc.header != "" && lines[0] != tc.header {
			t.Errorf("%s: header\n%q, want docker's\n%q", tc.name, lines[0], tc.header)
		}
		if tc.row != "" && (len(lines) != 2 || lines[1] != tc.row) {
			t.Errorf("%s: table\n%s\nwant the row\n%q", tc.name, stdout.String(), tc.row)
		}
		if len(lines) != 1+len(tc.round) || stderr.Len() > 0 {
			t.Errorf("%s: table\n%s\nstderr %q", tc.name, stdout.String(), stderr.String())
		}
	}
}

func TestStatsTemplateAndJSONNameTheBreakdown(t *testing.T) {
	var stdout bytes.Buffer
	g := &globalOptions{Stdout: &stdout}
	o, err := newStatsOutput(g, `table {{.Name}}\t{{.MemCache}}\t{{.MemAnon}}\t{{.MemKernel}}\t{{.Swap}}\t{{.MemPressure}}\t{{.CPUPressure}}`, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.emit([]container.ContainerStats{statsV2, statsNoMemory}); err != nil {
		t.Fatal(err)
	}
	want := "NAME      MEM CACHE   MEM ANON   MEM KERNEL   SWAP      MEM PSI       CPU PSI\n" +
		"web       512MiB      600MiB     5MiB         --        1.50 / 0.25   12.34\n" +
		"web       --          --         --           --        0.00 / 0.00   0.00\n"
	if stdout.String() != want {
		t.Errorf("template table:\n%s\nwant\n%s", stdout.String(), want)
	}

	stdout.Reset()
	if o, err = newStatsOutput(g, "json", true); err != nil {
		t.Fatal(err)
	}
	if err := o.emit([]container.ContainerStats{statsV1, statsNoMemory}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("json: want a line per container:\n%s", stdout.String())
	}
	var v1, off map[string]any
	if json.Unmarshal([]byte(lines[0]), &v1) != nil || json.Unmarshal([]byte(lines[1]), &off) != nil {
		t.Fatalf("json lines:\n%s", stdout.String())
	}
	for _, k := range []string{"id", "name", "cpuPercent", "memoryAccounting", "memUsage", "memLimit", "memPercent", "memCache",
		"memAnon", "memKernel", "swap", "pids", "blockReadBytes", "blockWriteBytes", "netRxBytes", "netTxBytes"} {
		if _, ok := v1[k]; !ok {
			t.Errorf("json of a v1 container lacks %q: %s", k, lines[0])
		}
	}
	if v1["memoryAccounting"] != true || off["memoryAccounting"] != false {
		t.Errorf("json memoryAccounting: %s\n%s", lines[0], lines[1])
	}
	for _, k := range []string{"memUsage", "memLimit", "memPercent", "memCache", "memAnon", "memKernel", "swap"} {
		if _, ok := off[k]; ok {
			t.Errorf("json without memory accounting has %q: %s", k, lines[1])
		}
	}
	if _, ok := off["memPressure"]; !ok {
		t.Errorf("json without memory accounting lost the memory pressure: %s", lines[1])
	}
}

func TestStatsNoteIsPrintedOnceOffATerminal(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o, err := newStatsOutput(&globalOptions{Stdout: &stdout, Stderr: &stderr}, "", true)
	if err != nil {
		t.Fatal(err)
	}
	o.notice(cgroups.MemoryOffNote("console=ttyS0 cgroup_disable=memory"))
	for range 3 {
		if err := o.emit([]container.ContainerStats{statsNoMemory}); err != nil {
			t.Fatal(err)
		}
	}
	note := regexp.MustCompile(`^edgerun: note: memory accounting is off on this kernel \(.+\), so stats shows no memory figures \(--\): .+ and reboot\n$`)
	if !note.MatchString(stderr.String()) {
		t.Errorf("want the note once on stderr, as %s, got:\n%s", note, stderr.String())
	}
	for _, part := range []string{"note: memory accounting is off on this kernel (", "), so stats shows no memory figures (--): "} {
		if !strings.Contains(stderr.String(), part) { // docs/cli.md's Error messages
			t.Errorf("the note lacks %q: %s", part, stderr.String())
		}
	}
	if got := strings.Count(stdout.String(), "\033[2J\033[H"); got != 3 {
		t.Errorf("a streamed table redraws each round: %d clears", got)
	}
}
