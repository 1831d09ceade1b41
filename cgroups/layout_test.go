package cgroups

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		dir         string
		mode        Mode
		controllers []string
		missing     []string
		unified     string
		swap        bool
		online      CPUList
	}{
		{"hybrid", ModeHybrid, []string{"cpu", "cpuacct", "cpuset", "memory", "pids", "devices", "blkio", "freezer"},
			[]string{"hugetlb", "name=systemd"}, "/sys/fs/cgroup/unified", true, CPUList{0, 1}},
		{"v2", ModeUnified, []string{"cpu", "cpuset", "memory", "pids", "io"}, nil, "/sys/fs/cgroup", true, CPUList{0, 1, 2, 3}},
		{"pi-v2-nomemory", ModeUnified, []string{"cpu", "cpuset", "pids"}, []string{"memory"}, "/sys/fs/cgroup", true, CPUList{0, 1, 2, 3}},
		{"pi-v1-nomemory", ModeV1, []string{"cpu", "cpuacct", "cpuset", "devices"}, []string{"memory", "pids"}, "", false, CPUList{0, 1, 2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			h, err := Detect(filepath.Join("testdata", tt.dir))
			if err != nil {
				t.Fatal(err)
			}
			if h.Mode != tt.mode || h.UnifiedMount != tt.unified || h.SwapAccounting != tt.swap {
				t.Fatalf("mode %v unified %q swap %v; want %v %q %v", h.Mode, h.UnifiedMount, h.SwapAccounting, tt.mode, tt.unified, tt.swap)
			}
			for _, c := range tt.controllers {
				if !h.Controllers[c] {
					t.Errorf("controller %s missing from %v", c, h.Controllers)
				}
			}
			for _, c := range tt.missing {
				if h.Controllers[c] {
					t.Errorf("controller %s reported but should be missing", c)
				}
			}
			if !reflect.DeepEqual(h.OnlineCPUs, tt.online) {
				t.Errorf("online = %v, want %v", h.OnlineCPUs, tt.online)
			}
		})
	}
}

func TestDetectHybridV1MountPoints(t *testing.T) {
	h, err := Detect("testdata/hybrid")
	if err != nil {
		t.Fatal(err)
	}
	if got := h.V1Mounts["memory"]; got != "/sys/fs/cgroup/memory" {
		t.Fatalf("memory mount = %q", got)
	}
}

func TestDetectNoCgroups(t *testing.T) {
	if _, err := Detect("testdata/none"); !errors.Is(err, ErrNoCgroups) {
		t.Fatalf("Detect(none) error = %v, want ErrNoCgroups", err)
	}
	if _, err := Detect("testdata/does-not-exist"); err == nil {
		t.Fatal("Detect of a missing tree succeeded")
	}
}

func TestDetectThisMachine(t *testing.T) {
	h, err := Detect("/")
	if err != nil {
		t.Skipf("no cgroups on this machine: %v", err)
	}
	if len(h.OnlineCPUs) == 0 {
		t.Fatal("no online CPUs detected")
	}
	t.Logf("mode %v controllers %v", h.Mode, h.Controllers)
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/mnt/a\040b\\x`); got != `/mnt/a b\\x` {
		t.Fatalf("unescapeMount = %q", got)
	}
}

func TestPath(t *testing.T) {
	if got := Path("abc"); got != "/edgerun/abc" {
		t.Fatalf("Path = %q", got)
	}
}
