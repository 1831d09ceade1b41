package cgroups

import (
	"errors"
	"strings"
	"testing"
)

func detect(t *testing.T, dir string) *Host {
	t.Helper()
	h, err := Detect("testdata/" + dir)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustLimits(t *testing.T, f Flags) Limits {
	t.Helper()
	l, err := ParseLimits(f)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestValidateMemoryDisabledSaysHowToEnable(t *testing.T) {
	want := "memory cgroup controller is disabled on this kernel: add `cgroup_enable=memory cgroup_memory=1` to " +
		"/boot/firmware/cmdline.txt (Raspberry Pi OS; /boot/cmdline.txt on older releases) and reboot, or run without --memory"
	for _, dir := range []string{"pi-v1-nomemory", "pi-v2-nomemory"} {
		t.Run(dir, func(t *testing.T) {
			err := Validate(mustLimits(t, Flags{Memory: "256m"}), detect(t, dir))
			if err == nil || err.Error() != want {
				t.Fatalf("error = %v\nwant %s", err, want)
			}
			var ce *ControllerError
			if !errors.Is(err, ErrControllerUnavailable) || !errors.As(err, &ce) || ce.Flag != "--memory" {
				t.Fatalf("error %v is not a *ControllerError for --memory", err)
			}
		})
	}
}

func TestValidateWithoutMemoryPassesOnPi(t *testing.T) {
	for _, dir := range []string{"pi-v1-nomemory", "pi-v2-nomemory"} {
		l := mustLimits(t, Flags{CPUs: "2", CPUSetCPUs: "0-3", CPUShares: "512", OOMScoreAdj: "100"})
		if err := Validate(l, detect(t, dir)); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
	}
}

func TestValidateMissingControllers(t *testing.T) {
	h := detect(t, "pi-v1-nomemory")
	err := Validate(mustLimits(t, Flags{PidsLimit: "10"}), h)
	if !errors.Is(err, ErrControllerUnavailable) || !strings.Contains(err.Error(), "cgroup_enable=pids") || !strings.Contains(err.Error(), "--pids-limit") {
		t.Fatalf("pids error = %v", err)
	}
	delete(h.Controllers, "cpu")
	delete(h.Controllers, "cpuset")
	for _, f := range []Flags{{CPUs: "1"}, {CPUShares: "100"}, {CPUSetCPUs: "0"}} {
		if err := Validate(mustLimits(t, f), h); !errors.Is(err, ErrControllerUnavailable) {
			t.Errorf("Validate(%+v) = %v, want ErrControllerUnavailable", f, err)
		}
	}
	if err := Validate(mustLimits(t, Flags{PidsLimit: "-1"}), h); err != nil {
		t.Errorf("unlimited pids needs no controller, got %v", err)
	}
}

func TestValidateCPUsAgainstHost(t *testing.T) {
	h := detect(t, "hybrid") // 2 CPUs online
	if err := Validate(mustLimits(t, Flags{CPUs: "2"}), h); err != nil {
		t.Fatalf("--cpus 2 on 2 CPUs: %v", err)
	}
	err := Validate(mustLimits(t, Flags{CPUs: "2.5"}), h)
	if !errors.Is(err, ErrInvalidLimit) || !strings.Contains(err.Error(), "--cpus 2.5 is more than the 2 CPUs") {
		t.Fatalf("--cpus 2.5 error = %v", err)
	}
}

func TestValidateCPUSetMustBeOnline(t *testing.T) {
	h := detect(t, "hybrid")
	if err := Validate(mustLimits(t, Flags{CPUSetCPUs: "0-1"}), h); err != nil {
		t.Fatal(err)
	}
	err := Validate(mustLimits(t, Flags{CPUSetCPUs: "0-2,4"}), h)
	if !errors.Is(err, ErrInvalidLimit) || !strings.Contains(err.Error(), "CPU 2 is not online") {
		t.Fatalf("error = %v", err)
	}
}

func TestValidateSwapNeedsAccounting(t *testing.T) {
	h := detect(t, "hybrid")
	l := mustLimits(t, Flags{Memory: "64m", MemorySwap: "128m"})
	if err := Validate(l, h); err != nil {
		t.Fatal(err)
	}
	h.SwapAccounting = false
	if err := Validate(l, h); err == nil || !strings.Contains(err.Error(), "swapaccount=1") {
		t.Fatalf("error = %v, want swapaccount hint", err)
	}
}

// TestValidateMemoryFlags: --memory-reservation and --oom-kill-disable
// need the memory controller; --oom-kill-disable needs cgroup v1's (a
// hybrid host has it) and is refused on v2 with what to do instead.
func TestValidateMemoryFlags(t *testing.T) {
	tests := []struct {
		name, host string
		f          Flags
		want       error  // nil: accepted
		says       string // what the error says
	}{
		{"reservation v1", "hybrid", Flags{MemoryReservation: "64m"}, nil, ""},
		{"reservation v2", "v2", Flags{Memory: "128m", MemoryReservation: "64m"}, nil, ""},
		{"oom-kill-disable hybrid", "hybrid", Flags{Memory: "64m", OOMKillDisable: true}, nil, ""},
		{"oom-kill-disable v2", "v2", Flags{Memory: "64m", OOMKillDisable: true}, ErrUnsupportedLimit, "drop --oom-kill-disable"},
		{"oom-kill-disable v2 says the alternative", "v2", Flags{OOMKillDisable: true}, ErrUnsupportedLimit, "--oom-score-adj=-1000"},
		{"reservation without memory controller v1", "pi-v1-nomemory", Flags{MemoryReservation: "64m"}, ErrControllerUnavailable, "or run without --memory-reservation"},
		{"reservation without memory controller v2", "pi-v2-nomemory", Flags{MemoryReservation: "64m"}, ErrControllerUnavailable, "cgroup_enable=memory"},
		{"oom-kill-disable without memory controller", "pi-v1-nomemory", Flags{OOMKillDisable: true}, ErrControllerUnavailable, "or run without --oom-kill-disable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(mustLimits(t, tt.f), detect(t, tt.host))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Validate = %v, want %v saying %q", err, tt.want, tt.says)
			}
		})
	}
}

// TestOOMKillDisableWithoutMemoryWarns: as docker, --oom-kill-disable
// without --memory is taken with a warning, which says why and what to do.
func TestOOMKillDisableWithoutMemoryWarns(t *testing.T) {
	w := mustLimits(t, Flags{OOMKillDisable: true}).Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "--oom-kill-disable without --memory") || !strings.Contains(w[0], "set --memory") {
		t.Fatalf("Warnings() = %q", w)
	}
	for _, f := range []Flags{{Memory: "64m", OOMKillDisable: true}, {Memory: "64m"}, {MemoryReservation: "64m"}} {
		if w := mustLimits(t, f).Warnings(); w != nil {
			t.Errorf("Warnings() of %+v = %q, want none", f, w)
		}
	}
}

func TestMemoryOffNoteSaysWhyAndHowToEnable(t *testing.T) {
	for _, tc := range []struct {
		cmdline   string
		has, lack []string
	}{
		{"console=ttyS0 cgroup_disable=memory quiet\n",
			[]string{"memory accounting is off on this kernel", "disabled by cgroup_disable=memory", "remove cgroup_disable=memory",
				"`cgroup_enable=memory cgroup_memory=1`", "/boot/firmware/cmdline.txt", "reboot"}, nil},
		{"console=ttyS0 cgroup_disable=memoryx",
			[]string{"memory accounting is off on this kernel", "not enabled", "add `cgroup_enable=memory cgroup_memory=1`", "/boot/firmware/cmdline.txt"},
			[]string{"remove"}},
		{"", []string{"not enabled", "GRUB_CMDLINE_LINUX"}, []string{"remove"}},
	} {
		note := MemoryOffNote(tc.cmdline)
		for _, s := range tc.has {
			if !strings.Contains(note, s) {
				t.Errorf("cmdline %q: note %q lacks %q", tc.cmdline, note, s)
			}
		}
		for _, s := range tc.lack {
			if strings.Contains(note, s) {
				t.Errorf("cmdline %q: note %q has %q", tc.cmdline, note, s)
			}
		}
	}
}
