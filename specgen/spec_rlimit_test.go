package specgen

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestRlimitsForRefusesWhatTheKernelWould(t *testing.T) {
	const inf = ^uint64(0)
	free := &RlimitBounds{NrOpen: 1 << 20}
	capped := &RlimitBounds{NrOpen: 1 << 20, Hard: map[string]uint64{
		"RLIMIT_NOFILE": 20000, "RLIMIT_MEMLOCK": 8 << 20, "RLIMIT_CORE": inf,
	}}
	tests := []struct {
		name    string
		bounds  *RlimitBounds
		ulimits []string
		wantErr string
	}{
		{"nofile above nr_open", free, []string{"nofile=99999999999"}, "at most 1048576 open files (fs.nr_open), not 99999999999"},
		{"nofile unlimited", free, []string{"nofile=-1"}, "not unlimited"},
		{"nofile hard above nr_open", free, []string{"nofile=1024:1048577"}, "fs.nr_open"},
		{"nofile at nr_open", free, []string{"nofile=1048576"}, ""},
		{"the injected nr_open, not the host's", &RlimitBounds{NrOpen: 1 << 21}, []string{"nofile=2097152"}, ""},
		{"no ceiling on other resources", free, []string{"memlock=99999999999", "core=-1", "rttime=-1"}, ""},
		{"an earlier flag is checked too", free, []string{"nofile=-1", "nofile=1024"}, "fs.nr_open"},
		{"raise nofile without CAP_SYS_RESOURCE", capped, []string{"nofile=30000"}, "above edgerun's own (20000)"},
		{"raise memlock without CAP_SYS_RESOURCE", capped, []string{"memlock=99999999999"}, "CAP_SYS_RESOURCE"},
		{"raise to unlimited", capped, []string{"memlock=1:-1"}, "the hard limit unlimited is above"},
		{"up to edgerun's own", capped, []string{"nofile=20000", "memlock=8388608"}, ""},
		{"lowering needs no capability", capped, []string{"nofile=100:200"}, ""},
		{"edgerun's own is unlimited", capped, []string{"core=-1"}, ""},
		{"a limit edgerun did not read", capped, []string{"nproc=-1"}, ""},
		{"nr_open holds with CAP_SYS_RESOURCE missing too", capped, []string{"nofile=2000000"}, "fs.nr_open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := baseOptions()
			o.Ulimits, o.RlimitBounds = tt.ulimits, tt.bounds
			got, err := rlimitsFor(o)
			checkErr(t, err, tt.wantErr)
			if tt.wantErr == "" && len(got) == 0 {
				t.Fatalf("rlimitsFor(%q) = no rlimits", tt.ulimits)
			}
		})
	}
}

func TestRaisesHardLimits(t *testing.T) {
	const all, noSysResource = 0x1ffffffffff, 0x1fffeffffff
	identity := "         0          0 4294967295\n"
	tests := []struct {
		name   string
		capEff uint64
		uidMap string
		want   bool
	}{
		{"root with every capability", all, identity, true},
		{"no uid_map (kernel without user namespaces)", all, "", true},
		{"root without CAP_SYS_RESOURCE (a container that dropped it)", noSysResource, identity, false},
		{"unprivileged user", 0, identity, false},
		{"root of a child user namespace", all, "0 1000 1\n", false},
		{"child namespace mapping many ids", all, "0 100000 65536\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := raisesHardLimits(tt.capEff, tt.uidMap); got != tt.want {
				t.Errorf("raisesHardLimits(%x, %q) = %v, want %v", tt.capEff, tt.uidMap, got, tt.want)
			}
		})
	}
}

func TestEffectiveCaps(t *testing.T) {
	f := filepath.Join(t.TempDir(), "status")
	write := func(s string) {
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("Name:\tx\nCapEff:\t000001fffeffffff\nCapBnd:\t000001ffffffffff\n")
	if got, err := effectiveCaps(f); err != nil || got != 0x1fffeffffff {
		t.Fatalf("effectiveCaps = %x, %v; want 1fffeffffff", got, err)
	}
	write("Name:\tx\n")
	if _, err := effectiveCaps(f); err == nil {
		t.Fatal("a status file without CapEff was accepted")
	}
}

func TestRlimitResourcesCoverEveryUlimit(t *testing.T) {
	res := rlimitResources()
	for flag, name := range rlimitNames() {
		if _, ok := res[name]; !ok {
			t.Errorf("--ulimit %s (%s) has no resource number", flag, name)
		}
	}
	if len(res) != len(rlimitNames()) {
		t.Errorf("%d resource numbers for %d --ulimit names", len(res), len(rlimitNames()))
	}
}

// TestHostRlimitBounds reads this host: it checks the shape of the answer,
// not the host's values.
func TestHostRlimitBounds(t *testing.T) {
	b, err := HostRlimitBounds()
	if err != nil {
		t.Fatal(err)
	}
	if b.NrOpen == 0 {
		t.Error("fs.nr_open read as 0")
	}
	if b.Hard != nil && len(b.Hard) != len(rlimitResources()) {
		t.Errorf("own hard limits = %v, want one per resource", b.Hard)
	}
	eff, err := effectiveCaps("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if b.Hard == nil && !slices.Contains(capsIn(63, eff), "CAP_SYS_RESOURCE") {
		t.Error("hard limits said to be raisable without CAP_SYS_RESOURCE")
	}
}
