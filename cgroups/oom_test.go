package cgroups

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOOMKilledReadsV1AndV2Counters(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for f, c := range map[string]string{"memory.oom_control": content, "memory.events": content} {
			if err := os.WriteFile(filepath.Join(d, f), []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	killed := write("killed", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
	calm := write("calm", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")
	cases := []struct {
		name  string
		paths map[string]string
		want  bool
	}{
		{"v1 killed", map[string]string{"memory": killed, "pids": calm}, true},
		{"v1 calm", map[string]string{"memory": calm}, false},
		{"v2 killed", map[string]string{"": killed}, true},
		{"v2 calm", map[string]string{"": calm}, false},
		{"no cgroup", map[string]string{"memory": filepath.Join(dir, "gone")}, false},
	}
	for _, tc := range cases {
		if got := OOMKilled(tc.paths); got != tc.want {
			t.Errorf("%s: OOMKilled = %v, want %v", tc.name, got, tc.want)
		}
	}
}
