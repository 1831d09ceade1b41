package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	lcg "github.com/opencontainers/cgroups"
)

func TestOOMKillsReadsV1AndV2Counters(t *testing.T) {
	lcg.TestMode = true // files in a temporary directory stand for cgroupfs
	t.Cleanup(func() { lcg.TestMode = false })
	dir := t.TempDir()
	write := func(name, file, content string) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	v1 := write("v1", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
	v2 := write("v2", "memory.events", "low 0\nhigh 0\nmax 7\noom 3\noom_kill 3\noom_group_kill 0\n")
	bare := write("bare", "cgroup.procs", "")
	cases := []struct {
		name  string
		paths map[string]string
		want  uint64
		err   error
	}{
		{"v1", map[string]string{"memory": v1, "pids": bare}, 2, nil},
		{"v1 wins over a hybrid host's unified path", map[string]string{"memory": v1, "": bare}, 2, nil},
		{"v2", map[string]string{"": v2}, 3, nil},
		{"v2 without the memory controller", map[string]string{"": bare}, 0, ErrNoMemoryCgroup},
		{"no memory cgroup", map[string]string{"pids": bare}, 0, ErrNoMemoryCgroup},
	}
	for _, tc := range cases {
		got, err := OOMKills(tc.paths)
		if got != tc.want || (tc.err != nil && !errors.Is(err, tc.err)) || (tc.err == nil && err != nil) {
			t.Errorf("%s: OOMKills = %d, %v; want %d, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
	if _, err := OOMKills(map[string]string{"memory": filepath.Join(dir, "gone")}); err == nil {
		t.Errorf("OOMKills of a removed cgroup: no error")
	}
}

func TestWatchOOMNeedsAMemoryCgroup(t *testing.T) {
	if _, err := WatchOOM(map[string]string{"pids": t.TempDir()}); !errors.Is(err, ErrNoMemoryCgroup) {
		t.Errorf("WatchOOM without a memory cgroup: %v, want ErrNoMemoryCgroup", err)
	}
}
