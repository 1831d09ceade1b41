package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeV2 makes a cgroup2 tree with the cgroups of path, each with the
// given controllers.
func fakeV2(t *testing.T, path, controllers string) *Host {
	t.Helper()
	root := t.TempDir()
	dir := root
	for _, el := range strings.Split(strings.Trim(path, "/"), "/") {
		dir = filepath.Join(dir, el)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"cgroup.procs", "cgroup.subtree_control"} {
			if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.controllers"), []byte(controllers+"\n"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	return &Host{Mode: ModeUnified, UnifiedMount: root}
}

func TestDelegationIsTheHighestWritableCgroupWithTheControllers(t *testing.T) {
	h := fakeV2(t, "/user.slice/user-1000.slice/user@1000.service/app.slice/shell.scope", "cpuset cpu io memory pids")
	got, err := Delegation(h, "/user.slice/user-1000.slice/user@1000.service/app.slice/shell.scope")
	// Every directory of the fake tree is writable (by its owner, the
	// test): the highest one is the delegation.
	if err != nil || got != "/user.slice" {
		t.Fatalf("Delegation = %q, %v", got, err)
	}
	if PathIn(got, "abc") != "/user.slice/edgerun/abc" || PathIn("", "abc") != "/edgerun/abc" {
		t.Fatalf("PathIn: %q %q", PathIn(got, "abc"), PathIn("", "abc"))
	}
}

func TestDelegationRefusesMissingControllersAndV1(t *testing.T) {
	h := fakeV2(t, "/ci/job", "cpu io")
	_, err := Delegation(h, "/ci/job")
	if !errors.Is(err, ErrNotDelegated) || !strings.Contains(err.Error(), "memory, pids") {
		t.Fatalf("missing controllers: %v", err)
	}
	for _, m := range []Mode{ModeV1, ModeHybrid} {
		_, err := Delegation(&Host{Mode: m}, "/x")
		if !errors.Is(err, ErrNotDelegated) || !strings.Contains(err.Error(), "cgroup v2") {
			t.Fatalf("%s: %v", m, err)
		}
	}
	if _, err := Delegation(fakeV2(t, "/a", "memory pids cpu"), "/"); !errors.Is(err, ErrNotDelegated) {
		t.Fatalf("the root cgroup taken for a delegation: %v", err)
	}
}

// TestDelegationRefusesACgroupWithProcessesOfItsOwn: cgroup v2 enables
// controllers only below a cgroup without processes, so a delegated cgroup
// holding the user's shell cannot give containers their limits; the error
// says to move the shell into a leaf. Once the controllers are enabled, or
// the cgroup is empty, it is a delegation.
func TestDelegationRefusesACgroupWithProcessesOfItsOwn(t *testing.T) {
	h := fakeV2(t, "/ci", "cpu memory pids")
	dir := filepath.Join(h.UnifiedMount, "ci")
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Delegation(h, "/ci")
	var de *DelegationError
	if !errors.As(err, &de) || de.Cgroup != "/ci" || !errors.Is(err, ErrNotDelegated) || !strings.Contains(err.Error(), "holds 1 processes of its own") ||
		!strings.Contains(err.Error(), "memory, pids, cpu") || !strings.Contains(err.Error(), dir+"/shell/cgroup.procs") {
		t.Fatalf("a delegated cgroup with a process and no controllers for its children: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("cpu memory pids\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := Delegation(h, "/ci"); err != nil || got != "/ci" {
		t.Fatalf("controllers enabled for the children: Delegation = %q, %v", got, err)
	}
}

// TestValidateDelegatedRefusesAControllerTheDelegationLacks: systemd's
// default delegation (memory, pids, cpu) has no cpuset, so --cpuset-cpus
// is refused up front with the fix rather than failing in libcontainer on
// a missing cpuset.cpus; root (no delegation) is not checked here.
func TestValidateDelegatedRefusesAControllerTheDelegationLacks(t *testing.T) {
	h := fakeV2(t, "/user.slice/user-1000.slice/user@1000.service", "memory pids cpu")
	d := "/user.slice/user-1000.slice/user@1000.service"
	err := ValidateDelegated(Limits{CPUSet: CPUList{0}, PidsLimit: 5}, h, d)
	if !errors.Is(err, ErrControllerUnavailable) || !strings.Contains(err.Error(), "--cpuset-cpus needs the cpuset controller") ||
		!strings.Contains(err.Error(), "Delegate=memory pids cpu cpuset") || strings.Contains(err.Error(), "--pids-limit") {
		t.Fatalf("--cpuset-cpus without cpuset delegated: %v", err)
	}
	if err := ValidateDelegated(Limits{Memory: 1 << 20, PidsLimit: 5, NanoCPUs: 5e8}, h, d); err != nil {
		t.Fatalf("limits of delegated controllers: %v", err)
	}
	if err := ValidateDelegated(Limits{CPUSet: CPUList{0}}, h, ""); err != nil {
		t.Fatalf("no delegation (root): %v", err)
	}
}

// TestValidateDelegatedMemoryFlags: a rootless soft limit needs the
// memory controller in the delegation, as --memory does.
func TestValidateDelegatedMemoryFlags(t *testing.T) {
	d := "/user.slice/user-1000.slice/user@1000.service"
	if err := ValidateDelegated(Limits{MemoryReservation: 64 << 20}, fakeV2(t, d, "memory pids cpu"), d); err != nil {
		t.Fatalf("--memory-reservation with memory delegated: %v", err)
	}
	err := ValidateDelegated(Limits{MemoryReservation: 64 << 20}, fakeV2(t, d, "pids cpu"), d)
	if !errors.Is(err, ErrControllerUnavailable) || !strings.Contains(err.Error(), "--memory-reservation needs the memory controller") {
		t.Fatalf("--memory-reservation without memory delegated: %v", err)
	}
}
