package specgen

import (
	"errors"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/edgerun/edgerun/cgroups"
)

func TestRootlessSpecWithoutCgroupHasNoCgroupPathAndRefusesLimits(t *testing.T) {
	o := baseOptions()
	o.Cgroupless = true
	s, err := GenerateSpec(testImage(), o)
	if err != nil {
		t.Fatal(err)
	}
	if s.Linux.CgroupsPath != "" {
		t.Fatalf("cgroupless spec has cgroup path %q", s.Linux.CgroupsPath)
	}
	o.Limits = mustLimits(t, cgroups.Flags{Memory: "64m", PidsLimit: "10"})
	_, err = GenerateSpec(testImage(), o)
	if !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "--memory, --pids-limit") {
		t.Fatalf("limits without a cgroup: %v", err)
	}
}

func TestRootlessHostNetworkBindsSysInsteadOfMountingSysfs(t *testing.T) {
	o := baseOptions()
	o.UserNS, o.HostNetwork = true, true
	s, err := GenerateSpec(testImage(), o)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/sys" })
	if i < 0 || s.Mounts[i].Type != "bind" || !slices.Contains(s.Mounts[i].Options, "ro") || !slices.Contains(s.Mounts[i].Options, "rbind") {
		t.Fatalf("/sys in a user namespace with the host network: %+v", s.Mounts[i])
	}
	o.HostNetwork = false
	s, err = GenerateSpec(testImage(), o)
	if err != nil {
		t.Fatal(err)
	}
	i = slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Destination == "/sys" })
	if s.Mounts[i].Type != "sysfs" {
		t.Fatalf("/sys with a network namespace of its own: %+v", s.Mounts[i])
	}
}

func TestSingleIDMappingRunsRootOnlyAndDropsUnmappedGroups(t *testing.T) {
	o := baseOptions()
	o.SingleID = true
	s, err := GenerateSpec(testImage(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Process.User.AdditionalGids) != 0 {
		t.Fatalf("single-ID container joins groups %v", s.Process.User.AdditionalGids)
	}
	i := slices.IndexFunc(s.Mounts, func(m specs.Mount) bool { return m.Type == "devpts" })
	if slices.Contains(s.Mounts[i].Options, "gid=5") {
		t.Fatalf("devpts keeps the unmapped gid=5: %v", s.Mounts[i].Options)
	}
	for _, u := range []string{"1000", "0:5", "33:33"} {
		o := baseOptions()
		o.SingleID, o.User = true, u
		if _, err := GenerateSpec(testImage(), o); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "subordinate IDs") {
			t.Errorf("-u %s with a single-ID mapping: %v", u, err)
		}
	}
	o = baseOptions()
	o.SingleID, o.GroupAdd = true, []string{"10"}
	if _, err := GenerateSpec(testImage(), o); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("--group-add with a single-ID mapping: %v", err)
	}
}
