package specgen

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// defaultCaps are docker's 14 default capabilities.
func defaultCaps() []string {
	return []string{
		"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
		"CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
		"CAP_SETUID", "CAP_SYS_CHROOT",
	}
}

// KnownCapabilities are the capabilities Linux 6.x knows, in kernel order (the
// index is the capability number), all of which libcontainer supports.
func KnownCapabilities() []string {
	return []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
		"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
		"CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
		"CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
		"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
		"CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
		"CAP_CHECKPOINT_RESTORE",
	}
}

// normalizeCap turns "net_admin", "CAP_NET_ADMIN" or "all" into the
// canonical name ("CAP_NET_ADMIN", "ALL").
func normalizeCap(flag, c string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(c))
	if u == "ALL" {
		return u, nil
	}
	if !strings.HasPrefix(u, "CAP_") {
		u = "CAP_" + u
	}
	if !slices.Contains(KnownCapabilities(), u) {
		return "", fmt.Errorf("%w: %s %q: unknown capability (names look like NET_ADMIN or CAP_NET_ADMIN, or ALL)", ErrInvalidOption, flag, c)
	}
	return u, nil
}

// capabilities applies --cap-add and --cap-drop to docker's defaults (or
// to every capability with --privileged), the way docker does: ALL in
// --cap-add starts from every capability, ALL in --cap-drop from none,
// and an explicit add wins over a drop of ALL. host are the capabilities
// this host can grant (see HostCapabilities): ALL means all of them, and
// a named one outside them is refused, since libcontainer's init could
// not raise it and would fail with "operation not permitted" after the
// container was made. The result is sorted.
func capabilities(add, drop []string, privileged bool, host []string) ([]string, error) {
	adds, err := normalizeCaps("--cap-add", add)
	if err != nil {
		return nil, err
	}
	drops, err := normalizeCaps("--cap-drop", drop)
	if err != nil {
		return nil, err
	}
	var base []string
	switch {
	case privileged || slices.Contains(adds, "ALL"):
		base = host
	case slices.Contains(drops, "ALL"):
		base = nil
	default:
		base = defaultCaps()
	}
	set := map[string]bool{}
	for _, c := range base {
		set[c] = !slices.Contains(drops, c)
	}
	for _, c := range adds {
		if c != "ALL" && !(slices.Contains(drops, c) && !slices.Contains(drops, "ALL")) {
			set[c] = true
		}
	}
	var out []string
	for c, ok := range set {
		if !ok {
			continue
		}
		if !slices.Contains(host, c) {
			return nil, unavailableCap(c, slices.Contains(adds, c))
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return out, nil
}

func unavailableCap(c string, added bool) error {
	short := strings.TrimPrefix(c, "CAP_")
	if added {
		return fmt.Errorf("%w: --cap-add %s: this host cannot grant %s (the kernel does not know it, or edgerun runs without it in its bounding set, e.g. inside another container): remove --cap-add %s",
			ErrInvalidOption, short, c, short)
	}
	return fmt.Errorf("%w: %s, one of the default capabilities, cannot be granted on this host (edgerun runs without it in its bounding set): add --cap-drop %s",
		ErrInvalidOption, c, short)
}

// HostCapabilities are the capabilities a container can get on this host:
// those the kernel knows (up to /proc/sys/kernel/cap_last_cap), that
// edgerun knows, and that are in edgerun's own bounding set (a process
// cannot give its children a capability outside it).
func HostCapabilities() ([]string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return nil, fmt.Errorf("read the kernel's last capability: %w", err)
	}
	last, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("parse /proc/sys/kernel/cap_last_cap %q: %w", b, err)
	}
	bnd, err := boundingSet("/proc/self/status")
	if err != nil {
		return nil, err
	}
	return capsIn(last, bnd), nil
}

// capsIn lists the known capabilities numbered up to last whose bit is
// set in mask.
func capsIn(last int, mask uint64) []string {
	var out []string
	for i, c := range KnownCapabilities() {
		if i <= last && mask&(1<<uint(i)) != 0 {
			out = append(out, c)
		}
	}
	return out
}

// boundingSet reads CapBnd from a /proc/PID/status file.
func boundingSet(status string) (uint64, error) {
	v, ok, err := statusField(status, "CapBnd")
	if err != nil {
		return 0, fmt.Errorf("read the capability bounding set: %w", err)
	}
	if !ok {
		return 0, fmt.Errorf("no CapBnd line in %s", status)
	}
	m, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("parse CapBnd in %s: %w", status, err)
	}
	return m, nil
}

// statusField returns the value of the "key:" line of a /proc/PID/status
// file, trimmed; ok is false when there is no such line.
func statusField(status, key string) (string, bool, error) {
	b, err := os.ReadFile(status)
	if err != nil {
		return "", false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v), true, nil
		}
	}
	return "", false, nil
}

func normalizeCaps(flag string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, c := range in {
		n, err := normalizeCap(flag, c)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
