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

// Delegation finds the cgroup subtree delegated to an ordinary user, on
// cgroup v2: the highest ancestor of self (this process's cgroup, from
// /proc/self/cgroup) that the user may write, whose controllers include
// DelegatedControllers. It returns its path below the cgroup2 root. On
// v1 or the hybrid layout, or without such a cgroup, the error says what
// is missing and how to get it.
func Delegation(h *Host, self string) (string, error) {
	if h.Mode != ModeUnified {
		return "", fmt.Errorf("%w: this host has cgroup v1 controllers (%s layout), which are never delegated to ordinary users: "+
			"run the container as root, or boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1)", ErrNotDelegated, h.Mode)
	}
	var found string
	for dir := path.Clean(self); dir != "/" && dir != "."; dir = path.Dir(dir) {
		full := filepath.Join(h.UnifiedMount, dir)
		if unix.Access(full, unix.W_OK) != nil || unix.Access(filepath.Join(full, "cgroup.procs"), unix.W_OK) != nil ||
			unix.Access(filepath.Join(full, "cgroup.subtree_control"), unix.W_OK) != nil {
			break
		}
		found = dir
	}
	if found == "" {
		return "", fmt.Errorf("%w: your cgroup %s is not yours to write: run edgerun in a systemd user session whose user@.service has Delegate=yes "+
			"(the default for memory, pids and cpu since systemd 252; for one command: systemd-run --user --scope -p Delegate=yes edgerun ...), "+
			"or have root create a cgroup, chown it to you and move your shell into a leaf below it", ErrNotDelegated, self)
	}
	b, err := os.ReadFile(filepath.Join(h.UnifiedMount, found, "cgroup.controllers"))
	if err != nil {
		return "", fmt.Errorf("read the controllers of %s: %w", found, err)
	}
	have := strings.Fields(string(b))
	var missing []string
	for _, c := range DelegatedControllers {
		if !slices.Contains(have, c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%w: the cgroup %s delegated to you lacks the %s controller(s): "+
			"delegate them (Delegate=%s in user@.service, systemctl edit user@.service)", ErrNotDelegated, found,
			strings.Join(missing, ", "), strings.Join(DelegatedControllers, " "))
	}
	return found, nil
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
