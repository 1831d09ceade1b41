package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/rootless"
)

// defaultPath is searched for the helpers when Options.Path is empty.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// limitsRefused is what rootless containers without a cgroup of their own
// mean for the limit flags (container.plan refuses them).
const limitsRefused = "rootless containers get no cgroup of their own, and every limit flag (--memory, --cpus, --pids-limit, ...) " +
	"is refused (exit 125) before anything is created; containers without limits run"

// checkRootless reports what rootless edgerun needs besides user
// namespaces, subordinate IDs and overlay (checkUserns, checkSubIDs,
// checkStorage): the ID-mapping helpers, cgroup delegation, slirp4netns
// and /dev/net/tun, the ports an ordinary user may publish, and
// lingering. Root gets one line saying where to look.
func checkRootless(o Options) []Check {
	if o.UID == 0 {
		return []Check{{Name: "rootless", Status: OK,
			Detail: "rootless readiness (newuidmap, cgroup delegation, slirp4netns, /dev/net/tun, unprivileged ports) is checked when an ordinary user runs edgerun doctor"}}
	}
	checks := []Check{checkIDHelpers(o), checkProcVisible(o), checkDelegation(o), checkSlirp(o)}
	if o.ProbeTun != nil {
		checks = append(checks, checkTun(o.ProbeTun()))
	}
	checks = append(checks, checkPorts(o))
	if c, ok := checkLinger(o); ok {
		checks = append(checks, c)
	}
	return checks
}

// lookPath finds an executable regular file name in o.Path under
// HostRoot, as exec.LookPath finds it in $PATH; "" when there is none.
func lookPath(o Options, name string) string {
	path := o.Path
	if path == "" {
		path = defaultPath
	}
	for dir := range strings.SplitSeq(path, ":") {
		if !filepath.IsAbs(dir) {
			continue // edgerun's LookPath would take it relative to the working directory: not a host fact
		}
		p := filepath.Join(o.HostRoot, dir, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// hostPath is p without the HostRoot prefix, as the user knows it.
func hostPath(o Options, p string) string {
	rel, err := filepath.Rel(filepath.Clean(o.HostRoot), p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return "/" + rel
}

// noNewPrivs says the process runs with no_new_privs, under which the
// kernel ignores setuid bits and file capabilities.
func noNewPrivs(o Options) bool {
	status, _ := readTrim(o.HostRoot, "proc/self/status")
	for line := range strings.SplitSeq(status, "\n") {
		if v, ok := strings.CutPrefix(line, "NoNewPrivs:"); ok {
			return strings.TrimSpace(v) == "1"
		}
	}
	return false
}

// checkIDHelpers checks newuidmap and newgidmap. With the user's
// subordinate ranges the session maps them through the helpers, so a
// helper that cannot gain privileges fails every command; without the
// ranges the helpers are not used.
func checkIDHelpers(o Options) Check {
	uids, gids := subIDCounts(o)
	ranges := uids >= rootless.MinSubIDs && gids >= rootless.MinSubIDs
	c := Check{Name: "uidmap"}
	var paths, missing []string
	for _, h := range []string{"newuidmap", "newgidmap"} {
		if p := lookPath(o, h); p != "" {
			paths = append(paths, p)
		} else {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 {
		c.Status = Warn
		c.Detail = strings.Join(missing, " and ") + " not installed: rootless edgerun uses the single-ID mapping (containers see only your own user, as root)"
		if !ranges {
			c.Detail += "; the full mapping also needs subordinate ranges (see subids)"
		}
		c.Fix = "apt install uidmap (Debian, Ubuntu, Raspberry Pi OS; shadow-utils or shadow elsewhere)"
		return c
	}
	var hows, problems, fixes []string
	if noNewPrivs(o) {
		problems = append(problems, "doctor runs with no_new_privs (NoNewPrivs: 1 in /proc/self/status), under which the kernel ignores setuid bits and file capabilities")
		fixes = append(fixes, "run edgerun from a process without no_new_privs (docker: drop --security-opt no-new-privileges; systemd: NoNewPrivileges=no)")
	}
	unprivileged := false
	for _, p := range paths {
		if o.HelperPrivilege == nil {
			hows = append(hows, hostPath(o, p))
		} else if how, err := o.HelperPrivilege(p); err != nil {
			problems = append(problems, fmt.Sprintf("%s cannot gain privileges: %v", hostPath(o, p), err))
			unprivileged = true
		} else {
			hows = append(hows, hostPath(o, p)+" ("+how+")")
		}
	}
	if unprivileged {
		uid, gid := hostPath(o, paths[0]), hostPath(o, paths[1])
		fixes = append(fixes, fmt.Sprintf("reinstall uidmap, or as root: chmod u+s %s %s (or setcap cap_setuid+ep %s; setcap cap_setgid+ep %s), "+
			"on a file system mounted without nosuid", uid, gid, uid, gid))
	}
	if len(problems) == 0 {
		c.Status = OK
		c.Detail = "newuidmap and newgidmap: " + strings.Join(hows, ", ")
		if !ranges {
			c.Detail += " (unused without subordinate ranges, see subids)"
		}
		return c
	}
	c.Detail = strings.Join(problems, "; ")
	if ranges {
		c.Status = Fail
		c.Detail += ": with your subordinate ranges rootless edgerun maps IDs through them, and every command fails (exit 125)"
		fixes = append(fixes, "or remove your ranges from /etc/subuid and /etc/subgid for the single-ID mapping")
	} else {
		c.Status = Warn
		c.Detail += " (not needed yet: without subordinate ranges edgerun uses the single-ID mapping)"
	}
	c.Fix = strings.Join(fixes, "; ")
	return c
}

// checkProcVisible looks for mounts over parts of /proc (the masked and
// read-only paths of a container edgerun runs in). The kernel mounts a new
// proc file system in a user namespace only where an existing one is fully
// visible, so rootless containers, which each get a /proc of their own,
// could not start. The binfmt_misc mount point is an empty directory of
// proc's own and does not count. (sysfs has the same rule, but
// libcontainer binds the host's /sys when that mount is refused.)
func checkProcVisible(o Options) Check {
	mi, _ := readTrim(o.HostRoot, "proc/self/mountinfo")
	var over []string
	for line := range strings.SplitSeq(mi, "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		if mnt := f[4]; strings.HasPrefix(mnt, "/proc/") && mnt != "/proc/sys/fs/binfmt_misc" {
			over = append(over, mnt)
		}
	}
	if len(over) == 0 {
		return Check{Name: "proc", Status: OK, Detail: "/proc is fully visible: rootless containers can mount a /proc of their own"}
	}
	return Check{Name: "proc", Status: Fail,
		Detail: fmt.Sprintf("parts of /proc are covered by mounts (%s: the masked paths of a container this runs in), and the kernel then refuses a new /proc "+
			"in a user namespace: rootless containers fail to start (error mounting \"proc\": operation not permitted)", strings.Join(over, " ")),
		Fix: "run the job's container without masked paths: docker run --security-opt systempaths=unconfined, podman run --security-opt unmask=ALL, " +
			"or --privileged with either; or run edgerun as root there"}
}

// checkDelegation reports whether a cgroup v2 subtree is delegated to the
// user, found as rootless edgerun finds it (cgroups.DelegationIn): then
// rootless containers get cgroups below it and every limit flag works;
// otherwise limits are refused (container.plan), and the check says why
// and how to get a delegation.
func checkDelegation(o Options) Check {
	c := Check{Name: "delegation", Status: Warn}
	const asRoot = "run containers that need limits as root"
	h, err := cgroups.Detect(o.HostRoot)
	if err != nil {
		c.Detail, c.Fix = "no cgroups: "+limitsRefused, "see the cgroups check"
		return c
	}
	if h.Mode != cgroups.ModeUnified {
		c.Detail = fmt.Sprintf("cgroup %s layout: cgroup v1 controllers are never delegated to ordinary users, so %s", h.Mode, limitsRefused)
		c.Fix = asRoot + "; rootless limits need cgroup v2 with a delegated cgroup: add systemd.unified_cgroup_hierarchy=1 " + cmdlineFix
		return c
	}
	if o.Writable == nil {
		c.Detail, c.Fix = "cgroup v2; delegation not checked: without a delegated cgroup "+limitsRefused, asRoot
		return c
	}
	mount := filepath.Join(o.HostRoot, h.UnifiedMount)
	own := ownCgroup(o.HostRoot)
	if own == "" {
		own = "/"
	}
	found, err := cgroups.DelegationIn(mount, own, o.Writable)
	if err == nil {
		c.Status = OK
		dir := filepath.Join(mount, found)
		c.Detail = fmt.Sprintf("cgroup v2: the cgroup %s is delegated to you (controllers: %s; this command runs in %s): rootless containers get cgroups below it (%s), and every limit flag works",
			found, controllers(dir), own, cgroups.PathIn(found, "ID"))
		if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers")); !slices.Contains(strings.Fields(string(b)), "cpuset") {
			c.Detail = strings.TrimSuffix(c.Detail, "every limit flag works") + "every limit flag but --cpuset-cpus works (cpuset is not delegated: refused, exit 125)"
			c.Fix = "optional: for --cpuset-cpus, delegate cpuset too (systemctl edit user@.service: [Service] Delegate=cpu cpuset io memory pids), or have root enable it in the cgroup.subtree_control of " + path.Dir(found)
		}
		return c
	}
	var de *cgroups.DelegationError
	if errors.As(err, &de) && de.Cgroup != "" {
		c.Detail, c.Fix = fmt.Sprintf("cgroup v2: %s (controllers: %s), so %s", de.Problem, controllers(filepath.Join(mount, de.Cgroup)), limitsRefused), de.Fix
		return c
	}
	manager := fmt.Sprintf("/user.slice/user-%d.slice/user@%d.service", o.UID, o.UID)
	if delegated(o, filepath.Join(mount, manager)) {
		c.Detail = fmt.Sprintf("cgroup v2: your systemd user manager's cgroup %s is delegated to you (controllers: %s), but this command runs in %s, outside it, so %s",
			manager, controllers(filepath.Join(mount, manager)), own, limitsRefused)
		c.Fix = "run edgerun inside your user manager's cgroup: systemd-run --user --scope -p Delegate=yes edgerun ..., or from a systemctl --user unit (contrib/edgerun-user.service)"
		return c
	}
	c.Detail = fmt.Sprintf("cgroup v2, but no cgroup is delegated to you (neither %s nor %s is yours to write): %s", own, manager, limitsRefused)
	c.Fix = asRoot + "; or get a delegated cgroup: loginctl enable-linger " + o.User +
		" (your systemd user manager gets one), with /etc/systemd/system/user@.service.d/delegate.conf holding " +
		"[Service] Delegate=cpu cpuset io memory pids for every controller; without systemd, root makes a cgroup, chowns it " +
		"(and its cgroup.procs, cgroup.subtree_control, cgroup.threads) to you and moves your shell into a leaf below it"
	return c
}

// ownCgroup is this process's cgroup v2 path ("0::PATH" in
// /proc/self/cgroup), "" when there is none.
func ownCgroup(root string) string {
	s, _ := readTrim(root, "proc/self/cgroup")
	for line := range strings.SplitSeq(s, "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	return ""
}

// delegated says the user may make cgroups in dir and move processes
// into it.
func delegated(o Options, dir string) bool {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return false
	}
	return o.Writable(dir) && o.Writable(filepath.Join(dir, "cgroup.procs"))
}

// controllers lists the limit controllers of a cgroup v2 directory, and
// which of memory, pids and cpu are missing.
func controllers(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	have := strings.Fields(string(b))
	var got, missing []string
	for _, lc := range limitControllers {
		switch {
		case slices.Contains(have, lc.name):
			got = append(got, lc.name)
		case lc.name != "cpuset":
			missing = append(missing, lc.name)
		}
	}
	s := strings.Join(got, " ")
	if s == "" {
		s = "none"
	}
	if len(missing) > 0 {
		s += "; without " + strings.Join(missing, ", ")
	}
	return s
}

// checkSlirp checks for slirp4netns, the link of the session's bridge to
// the host.
func checkSlirp(o Options) Check {
	if p := lookPath(o, "slirp4netns"); p != "" {
		return Check{Name: "slirp4netns", Status: OK,
			Detail: hostPath(o, p) + ": rootless containers get the bridge network (own address, outbound NAT, names of their peers, -p), the host's loopback at " + rootless.HostAlias}
	}
	c := Check{Name: "slirp4netns", Status: Warn,
		Detail: "slirp4netns is not installed: the default network (bridge) is refused for rootless containers (exit 125); --network none and host work",
		Fix:    "apt install slirp4netns, or run with --network none or host (EDGERUN_NETWORK=none makes none the default)"}
	if lookPath(o, "pasta") != "" {
		c.Detail += " (pasta is installed, but edgerun uses slirp4netns: its API adds and removes host port forwards while it runs)"
	}
	return c
}

// checkTun reports whether the user may open /dev/net/tun, where
// slirp4netns makes the session's tap device.
func checkTun(err error) Check {
	if err == nil {
		return Check{Name: "tun", Status: OK, Detail: "/dev/net/tun opens for you: slirp4netns can make the session's " + rootless.TapName}
	}
	c := Check{Name: "tun", Status: Warn,
		Detail: fmt.Sprintf("/dev/net/tun does not open for you (%v): slirp4netns cannot make the session's %s, so the bridge network fails; --network none and host work", err, rootless.TapName)}
	if errors.Is(err, fs.ErrNotExist) {
		c.Fix = "load the tun module (modprobe tun; persist it in /etc/modules-load.d/), or in a container pass the device (docker run --device /dev/net/tun)"
	} else {
		c.Fix = "as root: chmod 0666 /dev/net/tun (the kernel's and udev's default mode), or in a container pass the device (docker run --device /dev/net/tun)"
	}
	return c
}

// checkPorts reports the lowest host port an ordinary user may publish.
func checkPorts(o Options) Check {
	c := Check{Name: "ports", Status: OK}
	v, ok := readTrim(o.HostRoot, "proc/sys/net/ipv4/ip_unprivileged_port_start")
	n, err := strconv.Atoi(v)
	if !ok || err != nil {
		c.Detail = "this kernel has no net.ipv4.ip_unprivileged_port_start (before 4.11): -p publishes host ports from 1024 up; lower ones are refused (exit 125)"
		return c
	}
	if n <= 0 {
		c.Detail = "net.ipv4.ip_unprivileged_port_start is 0: -p publishes any host port"
		return c
	}
	c.Detail = fmt.Sprintf("net.ipv4.ip_unprivileged_port_start is %d: -p publishes host ports from %d up; lower ones are refused (exit 125)", n, n)
	c.Fix = "optional: to publish lower ports (-p 80:8080), as root: sysctl -w net.ipv4.ip_unprivileged_port_start=80 (persist it in /etc/sysctl.d/)"
	return c
}

// checkLinger reports, on systemd hosts, whether the user lingers: its
// user manager and $XDG_RUNTIME_DIR then outlive its logins and start at
// boot. ok is false where systemd does not run.
func checkLinger(o Options) (Check, bool) {
	if !exists(filepath.Join(o.HostRoot, "run/systemd/system")) || o.User == "" {
		return Check{}, false
	}
	if exists(filepath.Join(o.HostRoot, "var/lib/systemd/linger", o.User)) {
		return Check{Name: "linger", Status: OK,
			Detail: "lingering is on for " + o.User + ": detached containers outlive your logins, and a systemctl --user unit can run edgerun boot at boot (contrib/edgerun-user.service)"}, true
	}
	return Check{Name: "linger", Status: Warn,
		Detail: "lingering is off for " + o.User + ": when your last login ends, systemd stops your user manager and removes $XDG_RUNTIME_DIR " +
			"(edgerun's --state and session), so detached containers lose their state, and nothing of yours starts at boot",
		Fix: "loginctl enable-linger " + o.User + " (as root, or as " + o.User + " where polkit allows it), then install contrib/edgerun-user.service (docs/rootless.md)"}, true
}
