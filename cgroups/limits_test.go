package cgroups

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseMemory(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{"256m", 256 << 20, false},
		{"256M", 256 << 20, false},
		{"1g", 1 << 30, false},
		{"1.5g", 3 << 29, false},
		{"6m", 6 << 20, false},
		{"8192k", 8 << 20, false},
		{"7340032b", 7 << 20, false},
		{"7340032", 7 << 20, false},
		{"5m", 0, true},
		{"1k", 0, true},
		{"-1", 0, true},
		{"-256m", 0, true},
		{"256x", 0, true},
		{"m", 0, true},
		{"lots", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMemory(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseMemory(%q) = %d, %v; want %d, err=%v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidLimit) {
				t.Fatalf("error %v does not wrap ErrInvalidLimit", err)
			}
		})
	}
}

func TestParseMemorySwap(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		memory  int64
		want    int64
		wantErr bool
	}{
		{"unset", "", 256 << 20, 0, false},
		{"zero is unset", "0", 0, 0, false},
		{"unlimited", "-1", 256 << 20, -1, false},
		{"equal to memory", "256m", 256 << 20, 256 << 20, false},
		{"larger", "1g", 256 << 20, 1 << 30, false},
		{"smaller than memory", "128m", 256 << 20, 0, true},
		{"needs memory", "1g", 0, 0, true},
		{"unlimited needs memory", "-1", 0, 0, true},
		{"garbage", "big", 256 << 20, 0, true},
		{"negative", "-2", 256 << 20, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMemorySwap(tt.in, tt.memory)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseMemorySwap(%q, %d) = %d, %v; want %d, err=%v", tt.in, tt.memory, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseCPUs(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{"1", 1e9, false},
		{"1.5", 1.5e9, false},
		{"0.01", 1e7, false},
		{"0.5", 5e8, false},
		{"0.009", 0, true},
		{"-1", 0, true},
		{"1/2", 0, true},
		{"1e3", 0, true},
		{"0.0000000001", 0, true},
		{"one", 0, true},
		{"99999999999999", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCPUs(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseCPUs(%q) = %d, %v; want %d, err=%v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseCPUSharesPidsOOM(t *testing.T) {
	shares := []struct {
		in      string
		want    uint64
		wantErr bool
	}{{"", 0, false}, {"0", 0, false}, {"2", 2, false}, {"1024", 1024, false}, {"262144", 262144, false},
		{"1", 0, true}, {"262145", 0, true}, {"-5", 0, true}, {"x", 0, true}}
	for _, tt := range shares {
		got, err := ParseCPUShares(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseCPUShares(%q) = %d, %v; want %d, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	pids := []struct {
		in      string
		want    int64
		wantErr bool
	}{{"", 0, false}, {"0", 0, false}, {"-1", 0, false}, {"100", 100, false}, {"-2", 0, true}, {"ten", 0, true}}
	for _, tt := range pids {
		got, err := ParsePidsLimit(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParsePidsLimit(%q) = %d, %v; want %d, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	ooms := []struct {
		in      string
		want    int
		wantErr bool
	}{{"-1000", -1000, false}, {"0", 0, false}, {"1000", 1000, false}, {"500", 500, false},
		{"1001", 0, true}, {"-1001", 0, true}, {"1.5", 0, true}}
	for _, tt := range ooms {
		got, err := ParseOOMScoreAdj(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && *got != tt.want) {
			t.Errorf("ParseOOMScoreAdj(%q) = %v, %v; want %d, err=%v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if got, err := ParseOOMScoreAdj(""); got != nil || err != nil {
		t.Errorf("ParseOOMScoreAdj(\"\") = %v, %v; want nil, nil", got, err)
	}
}

func TestParseLimitsResources(t *testing.T) {
	l, err := ParseLimits(Flags{Memory: "256m", MemorySwap: "512m", CPUs: "1.5", CPUShares: "512",
		CPUSetCPUs: "1,0", PidsLimit: "100", OOMScoreAdj: "-500"})
	if err != nil {
		t.Fatal(err)
	}
	want := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(256 << 20)), Swap: ptr(int64(512 << 20))},
		CPU:    &specs.LinuxCPU{Quota: ptr(int64(150000)), Period: ptr(uint64(100000)), Shares: ptr(uint64(512)), Cpus: "0-1"},
		Pids:   &specs.LinuxPids{Limit: ptr(int64(100))},
	}
	if got := l.Resources(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Resources() = %+v, want %+v", got, want)
	}
	if *l.OOMScoreAdj != -500 {
		t.Fatalf("OOMScoreAdj = %d, want -500", *l.OOMScoreAdj)
	}
}

func TestResourcesNilWhenNoLimits(t *testing.T) {
	l, err := ParseLimits(Flags{PidsLimit: "-1", OOMScoreAdj: "10"})
	if err != nil {
		t.Fatal(err)
	}
	if r := l.Resources(); r != nil {
		t.Fatalf("Resources() = %+v, want nil", r)
	}
}

func TestParseLimitsRejectsEachBadFlag(t *testing.T) {
	for _, f := range []Flags{
		{Memory: "1k"}, {MemorySwap: "1g"}, {CPUs: "abc"}, {CPUShares: "1"},
		{CPUSetCPUs: "2-1"}, {PidsLimit: "-9"}, {OOMScoreAdj: "2000"},
	} {
		if _, err := ParseLimits(f); !errors.Is(err, ErrInvalidLimit) {
			t.Errorf("ParseLimits(%+v) error = %v, want ErrInvalidLimit", f, err)
		}
	}
}

// TestParseMemoryReservation: docker's soft limit, in --memory's units,
// at least 6m, and at most --memory when both are set (equal is docker's
// rule too). Every error names the flag and what to do.
func TestParseMemoryReservation(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		memory  int64
		want    int64
		wantErr string
	}{
		{"unset", "", 256 << 20, 0, ""},
		{"zero is unset", "0", 0, 0, ""},
		{"alone", "128m", 0, 128 << 20, ""},
		{"below memory", "128m", 256 << 20, 128 << 20, ""},
		{"equal to memory", "256m", 256 << 20, 256 << 20, ""},
		{"bytes", "7340032", 0, 7 << 20, ""},
		{"above memory", "512m", 256 << 20, 0, "lower --memory-reservation or raise --memory"},
		{"under the minimum", "5m", 0, 0, "the minimum memory reservation is 6m"},
		{"negative", "-1", 0, 0, "want a size like 128m"},
		{"garbage", "half", 0, 0, "want a size like 128m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMemoryReservation(tt.in, tt.memory)
			if got != tt.want || (err == nil) != (tt.wantErr == "") {
				t.Fatalf("ParseMemoryReservation(%q, %d) = %d, %v; want %d, error %q", tt.in, tt.memory, got, err, tt.want, tt.wantErr)
			}
			if err != nil && (!errors.Is(err, ErrInvalidLimit) || !strings.Contains(err.Error(), "--memory-reservation") ||
				!strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %q: want ErrInvalidLimit naming --memory-reservation and saying %q", err, tt.wantErr)
			}
		})
	}
}

// TestKernelMemoryIsRefused: any kernel memory limit is refused with the
// reason and the fix; "" and "0" ask for none and pass.
func TestKernelMemoryIsRefused(t *testing.T) {
	for _, in := range []string{"", "0"} {
		if err := CheckKernelMemory(in); err != nil {
			t.Errorf("CheckKernelMemory(%q) = %v, want nil", in, err)
		}
	}
	for _, in := range []string{"64m", "1", "-1", "lots"} {
		err := CheckKernelMemory(in)
		if !errors.Is(err, ErrUnsupportedLimit) {
			t.Fatalf("CheckKernelMemory(%q) = %v, want ErrUnsupportedLimit", in, err)
		}
		for _, want := range []string{"--kernel-memory", "memory.kmem.limit_in_bytes", "cgroup v2", "counts against --memory", "drop --kernel-memory"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("CheckKernelMemory(%q) = %q, does not say %q", in, err, want)
			}
		}
	}
	if _, err := ParseLimits(Flags{Memory: "64m", KernelMemory: "32m"}); !errors.Is(err, ErrUnsupportedLimit) {
		t.Errorf("ParseLimits with --kernel-memory: %v, want ErrUnsupportedLimit", err)
	}
}

// TestMemoryFlagsResources: the soft limit and the OOM killer switch go
// to the spec's memory block, also without --memory, and need a cgroup.
func TestMemoryFlagsResources(t *testing.T) {
	tests := []struct {
		name  string
		f     Flags
		want  *specs.LinuxMemory
		flags []string
	}{
		{"reservation alone", Flags{MemoryReservation: "64m"},
			&specs.LinuxMemory{Reservation: ptr(int64(64 << 20))}, []string{"--memory-reservation"}},
		{"oom-kill-disable alone", Flags{OOMKillDisable: true},
			&specs.LinuxMemory{DisableOOMKiller: ptr(true)}, []string{"--oom-kill-disable"}},
		{"all three", Flags{Memory: "128m", MemoryReservation: "64m", OOMKillDisable: true},
			&specs.LinuxMemory{Limit: ptr(int64(128 << 20)), Reservation: ptr(int64(64 << 20)), DisableOOMKiller: ptr(true)},
			[]string{"--memory", "--memory-reservation", "--oom-kill-disable"}},
		{"kernel memory 0 asks nothing", Flags{KernelMemory: "0"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := mustLimits(t, tt.f)
			var got *specs.LinuxMemory
			if r := l.Resources(); r != nil {
				got = r.Memory
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Resources().Memory = %+v, want %+v", got, tt.want)
			}
			if f := l.CgroupFlags(); !reflect.DeepEqual(f, tt.flags) {
				t.Errorf("CgroupFlags() = %q, want %q", f, tt.flags)
			}
		})
	}
}
