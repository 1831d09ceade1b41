package cgroups

import (
	"errors"
	"reflect"
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
