package doctor

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// readTrim returns a file under root, trimmed, and whether it was readable.
func readTrim(root, name string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

func checkPrivileges(o Options) Check {
	if o.UID == 0 {
		return Check{Name: "privileges", Status: OK, Detail: "running as root"}
	}
	who := o.User
	if who == "" {
		who = "uid " + strconv.Itoa(o.UID)
	}
	return Check{Name: "privileges", Status: OK,
		Detail: fmt.Sprintf("running as uid %d: rootless mode: %s's commands run in a session of its own (user, mount and network namespaces) "+
			"with its own --root and --state; the checks below say what this host gives it (docs/rootless.md)", o.UID, who)}
}

// checkSeccomp reads the Seccomp field of /proc/self/status: it exists when
// the kernel has CONFIG_SECCOMP, and edgerun's default profile is a filter.
func checkSeccomp(root string) Check {
	c := Check{Name: "seccomp"}
	status, ok := readTrim(root, "proc/self/status")
	if ok && strings.Contains(status, "\nSeccomp:") {
		if _, err := os.Stat(filepath.Join(root, "proc/sys/kernel/seccomp/actions_avail")); err == nil {
			c.Status, c.Detail = OK, "seccomp filters available (the default profile is applied to every container)"
			return c
		}
		c.Status, c.Detail = OK, "seccomp available"
		return c
	}
	c.Status = Fail
	c.Detail = "this kernel has no seccomp (no Seccomp line in /proc/self/status): containers cannot get the default profile"
	c.Fix = "use a kernel built with CONFIG_SECCOMP and CONFIG_SECCOMP_FILTER (every distribution kernel has them)"
	return c
}

// checkUserns reports whether unprivileged user namespaces (rootless
// containers, unpacking as non-root) are allowed. Root does not need them,
// so for root a block is a warning; rootless edgerun cannot run without
// them, so for an ordinary user it is a failure.
func checkUserns(o Options) []Check {
	r := o.HostRoot
	status, effect := Warn, "rootless containers are not possible (root containers are not affected)"
	if o.UID != 0 {
		status, effect = Fail, "rootless edgerun cannot start its session, so every command of yours fails (exit 125)"
	}
	if _, err := os.Stat(filepath.Join(r, "proc/self/ns/user")); err != nil {
		return []Check{{Name: "userns", Status: status, Detail: "this kernel has no user namespaces: " + effect,
			Fix: "use a kernel built with CONFIG_USER_NS, or run edgerun as root"}}
	}
	c := Check{Name: "userns", Status: OK, Detail: "unprivileged user namespaces allowed"}
	var problems, fixes []string
	if v, ok := readTrim(r, "proc/sys/user/max_user_namespaces"); ok {
		if n, _ := strconv.Atoi(v); n == 0 {
			problems = append(problems, "user.max_user_namespaces is 0")
			fixes = append(fixes, "sysctl -w user.max_user_namespaces=15000")
		} else {
			c.Detail += fmt.Sprintf(" (max_user_namespaces %s)", v)
		}
	}
	if v, ok := readTrim(r, "proc/sys/kernel/unprivileged_userns_clone"); ok && v == "0" {
		problems = append(problems, "kernel.unprivileged_userns_clone is 0 (Debian's switch)")
		fixes = append(fixes, "sysctl -w kernel.unprivileged_userns_clone=1")
	}
	if v, ok := readTrim(r, "proc/sys/kernel/apparmor_restrict_unprivileged_userns"); ok && v == "1" {
		problems = append(problems, "kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu 23.10+): only programs with an AppArmor profile granting userns may create one")
		fixes = append(fixes, "add an AppArmor profile for edgerun with `userns,` (docs/rootless.md has one), or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0")
	}
	if len(problems) == 0 && o.UID != 0 && o.ProbeUserns != nil {
		if err := o.ProbeUserns(); err != nil {
			return []Check{{Name: "userns", Status: Fail,
				Detail: fmt.Sprintf("the kernel allows unprivileged user namespaces, but making one fails here (%v): a seccomp filter or security policy "+
					"of the container or service edgerun runs in refuses it (docker's default seccomp profile does, to processes without CAP_SYS_ADMIN): %s", err, effect),
				Fix: "run the job's container with --security-opt seccomp=unconfined (docker, podman), or with a seccomp profile that allows clone and unshare with CLONE_NEWUSER; " +
					"in a systemd service, do not restrict user namespaces (RestrictNamespaces=)"}}
		}
		c.Detail += "; one was made for this check"
	}
	if len(problems) == 0 {
		return []Check{c}
	}
	return []Check{{Name: "userns", Status: status,
		Detail: "unprivileged user namespaces are blocked: " + strings.Join(problems, "; ") + ": " + effect,
		Fix:    strings.Join(fixes, " and ") + " (persist it in /etc/sysctl.d/)"}}
}

// netModules are the kernel parts bridge networking needs, with what uses them.
var netModules = []struct{ module, what string }{
	{"nf_tables", "NAT and port publishing (nftables)"},
	{"veth", "container network interfaces"},
	{"bridge", "bridge networks"},
}

// checkNetwork tries the modules in a throwaway network namespace when it
// can (root), else looks for each loaded (/sys/module, /proc/modules),
// built in (modules.builtin, the kernel config) or installed (modules.dep).
func checkNetwork(o Options) []Check {
	root := o.HostRoot
	var probed map[string]error
	if o.ProbeNetwork != nil && o.UID == 0 {
		probed = o.ProbeNetwork()
	}
	release, _ := readTrim(root, "proc/sys/kernel/osrelease")
	moddir := filepath.Join(root, "lib/modules", release)
	loaded, _ := readTrim(root, "proc/modules")
	var checks []Check
	for _, m := range netModules {
		c := Check{Name: m.module, Status: OK}
		config := "CONFIG_" + strings.ToUpper(m.module)
		switch {
		case probed != nil && probed[m.module] == nil:
			c.Detail = m.module + " works (tried in a throwaway network namespace): " + m.what
		case probed != nil:
			c.Status = Warn
			c.Detail = fmt.Sprintf("%s does not work: %v: no %s; --network host and none still work", m.module, probed[m.module], m.what)
		case exists(filepath.Join(root, "sys/module", m.module)) || hasModuleLine(loaded, m.module):
			c.Detail = m.module + " loaded: " + m.what
		case listsModule(filepath.Join(moddir, "modules.builtin"), m.module) || kernelConfig(root, release, config) == "y":
			c.Detail = m.module + " built into the kernel: " + m.what
		case listsModule(filepath.Join(moddir, "modules.dep"), m.module):
			c.Detail = m.module + " available as a module (loaded on first use): " + m.what
		default:
			c.Status = Warn
			c.Detail = fmt.Sprintf("%s is neither loaded, built in nor installed for kernel %s: no %s; --network host and none still work", m.module, release, m.what)
		}
		if c.Status != OK {
			c.Fix = "install the kernel's modules package (linux-modules-extra-$(uname -r) on Ubuntu) or use a kernel with " + config
		}
		checks = append(checks, c)
	}
	return checks
}

// kernelConfig returns the value of a kernel config option from
// /proc/config.gz or /boot/config-RELEASE ("" when unknown).
func kernelConfig(root, release, option string) string {
	var data []byte
	if f, err := os.Open(filepath.Join(root, "proc/config.gz")); err == nil {
		defer f.Close()
		if zr, err := gzip.NewReader(f); err == nil {
			data, _ = io.ReadAll(io.LimitReader(zr, 4<<20))
		}
	}
	if data == nil {
		data, _ = os.ReadFile(filepath.Join(root, "boot", "config-"+release))
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, option+"="); ok {
			return v
		}
	}
	return ""
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func hasModuleLine(procModules, module string) bool {
	for line := range strings.SplitSeq(procModules, "\n") {
		if name, _, _ := strings.Cut(line, " "); name == module {
			return true
		}
	}
	return false
}

// listsModule reports whether a modules.dep or modules.builtin file names
// module (as .../module.ko, possibly compressed).
func listsModule(file, module string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		path, _, _ := strings.Cut(sc.Text(), ":")
		base := filepath.Base(path)
		if i := strings.Index(base, ".ko"); i > 0 && strings.ReplaceAll(base[:i], "-", "_") == module {
			return true
		}
	}
	return false
}
