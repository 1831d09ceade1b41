package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// DelegatedControllers are the controllers rootless limits need in a
// delegated cgroup: --memory, --pids-limit, --cpus and --cpu-shares.
var DelegatedControllers = []string{"memory", "pids", "cpu"}

// ErrNotDelegated says an ordinary user has no cgroup subtree of its own.
var ErrNotDelegated = errors.New("no cgroup is delegated to this user")

// DelegationError says why a user's cgroup cannot hold rootless containers'
// cgroups, and what to do. It wraps ErrNotDelegated. Cgroup is the cgroup
// found writable ("" when none is).
type DelegationError struct {
	Cgroup  string
	Problem string
	Fix     string
}

func (e *DelegationError) Error() string {
	if e.Fix == "" {
		return ErrNotDelegated.Error() + ": " + e.Problem
	}
	return ErrNotDelegated.Error() + ": " + e.Problem + ": " + e.Fix
}

func (e *DelegationError) Unwrap() error { return ErrNotDelegated }

// Delegation finds the cgroup subtree delegated to an ordinary user, on
// cgroup v2: the highest ancestor of self (this process's cgroup, from
// /proc/self/cgroup) that the user may write, whose controllers include
// DelegatedControllers and that can pass them to its children. It returns
// its path below the cgroup2 root. On v1 or the hybrid layout, or without
// such a cgroup, the error says what is missing and how to get it.
func Delegation(h *Host, self string) (string, error) {
	if h.Mode != ModeUnified {
		return "", fmt.Errorf("%w: this host has cgroup v1 controllers (%s layout), which are never delegated to ordinary users: "+
			"run the container as root, or boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1)", ErrNotDelegated, h.Mode)
	}
	found, err := DelegationIn(h.UnifiedMount, self, func(p string) bool { return unix.Access(p, unix.W_OK) == nil })
	if err != nil {
		return "", err
	}
	return found, nil
}

// unreadable is the fix when a file of a delegated cgroup cannot be read.
const unreadable = "check that cgroup2 is mounted there and that you may read the cgroup's files"

// DelegationIn is Delegation's search in the cgroup2 tree mounted at
// mount, where writable says what the user may write (doctor passes its
// host root's tree and its own check). Its errors are *DelegationError.
func DelegationIn(mount, self string, writable func(path string) bool) (string, error) {
	var found string
	for dir := path.Clean(self); dir != "/" && dir != "."; dir = path.Dir(dir) {
		full := filepath.Join(mount, dir)
		if !writable(full) || !writable(filepath.Join(full, "cgroup.procs")) || !writable(filepath.Join(full, "cgroup.subtree_control")) {
			break
		}
		found = dir
	}
	if found == "" {
		return "", &DelegationError{Problem: "your cgroup " + self + " is not yours to write",
			Fix: "run edgerun in a systemd user session whose user@.service has Delegate=yes " +
				"(the default for memory, pids and cpu since systemd 252; for one command: systemd-run --user --scope -p Delegate=yes edgerun ...), " +
				"or have root create a cgroup, chown it to you and move your shell into a leaf below it"}
	}
	b, err := os.ReadFile(filepath.Join(mount, found, "cgroup.controllers"))
	if err != nil {
		return "", &DelegationError{Cgroup: found, Problem: fmt.Sprintf("read the controllers of %s: %v", found, err), Fix: unreadable}
	}
	if missing := without(strings.Fields(string(b))); len(missing) > 0 {
		return "", &DelegationError{Cgroup: found,
			Problem: fmt.Sprintf("the cgroup %s delegated to you lacks the %s controller(s)", found, strings.Join(missing, ", ")),
			Fix: fmt.Sprintf("delegate them (Delegate=%s in user@.service, systemctl edit user@.service), or have root enable them in the cgroup.subtree_control of %s's parent",
				strings.Join(DelegatedControllers, " "), found)}
	}
	return found, passesControllers(filepath.Join(mount, found), found)
}

// without lists the DelegatedControllers missing from have.
func without(have []string) []string {
	var missing []string
	for _, c := range DelegatedControllers {
		if !slices.Contains(have, c) {
			missing = append(missing, c)
		}
	}
	return missing
}

// passesControllers checks that the delegated cgroup (dir, found below the
// root) can give its children the DelegatedControllers: they are enabled
// in its cgroup.subtree_control, or it holds no process of its own. cgroup
// v2 enables a controller for the children only of a cgroup without
// processes (the "no internal processes" rule), so a shell sitting in the
// delegated cgroup itself would leave every container's cgroup without
// controllers, and each limit would fail late with a missing file.
func passesControllers(dir, found string) error {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err != nil {
		return &DelegationError{Cgroup: found, Problem: fmt.Sprintf("read the cgroup.subtree_control of %s: %v", found, err), Fix: unreadable}
	}
	off := without(strings.Fields(string(b)))
	if len(off) == 0 {
		return nil
	}
	procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return &DelegationError{Cgroup: found, Problem: fmt.Sprintf("read the cgroup.procs of %s: %v", found, err), Fix: unreadable}
	}
	if n := len(strings.Fields(string(procs))); n > 0 {
		return &DelegationError{Cgroup: found,
			Problem: fmt.Sprintf("the cgroup %s delegated to you holds %d processes of its own (your shell, or this command), "+
				"so cgroup v2 cannot enable %s for the cgroups below it", found, n, strings.Join(off, ", ")),
			Fix: fmt.Sprintf("move them into a leaf cgroup below it (mkdir %s/shell, then echo $$ >%s/shell/cgroup.procs from your shell) and run edgerun from there",
				dir, dir)}
	}
	return nil
}

// SelfCgroup is this process's cgroup v2 path, from /proc/self/cgroup.
func SelfCgroup() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p, nil
		}
	}
	return "", errors.New("no cgroup v2 entry in /proc/self/cgroup")
}

// PathIn is the cgroup of container id below parent ("" or "/" for
// edgerun's own /edgerun of root).
func PathIn(parent, id string) string {
	if parent == "" || parent == "/" {
		return Path(id)
	}
	return path.Join(parent, "edgerun", id)
}
