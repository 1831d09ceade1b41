package specgen

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// securityOpts is the parsed form of --security-opt.
type securityOpts struct {
	noNewPrivileges bool
	seccompMode     string // "" for the default profile, "unconfined", or "profile"
	seccompProfile  []byte // the JSON of seccomp=PROFILE.json
	seccompPath     string
	apparmor        string // "" for the default, "unconfined", or a profile's name
}

// parseSecurityOpts parses no-new-privileges[:=true|false],
// seccomp=unconfined, seccomp=PROFILE.json (read from the host),
// apparmor=PROFILE, apparmor=unconfined and label=... (checked here, used
// by the runtime where SELinux is enabled).
func parseSecurityOpts(opts []string) (securityOpts, error) {
	so := securityOpts{noNewPrivileges: true}
	for _, o := range opts {
		k, v, hasValue := strings.Cut(o, "=")
		if !hasValue {
			k, v, hasValue = strings.Cut(o, ":")
		}
		switch k {
		case "no-new-privileges":
			b, err := parseBoolOption(v, hasValue)
			if err != nil {
				return so, fmt.Errorf("%w: --security-opt %q: %w", ErrInvalidOption, o, err)
			}
			so.noNewPrivileges = b
		case "seccomp":
			if err := so.setSeccomp(v); err != nil {
				return so, fmt.Errorf("%w: --security-opt %q: %w", ErrInvalidOption, o, err)
			}
		case "label":
			if err := checkLabelOption(v); err != nil {
				return so, fmt.Errorf("%w: --security-opt %q: %w", ErrInvalidOption, o, err)
			}
		case "apparmor":
			if v == "" || strings.ContainsAny(v, "\x00\n") {
				return so, fmt.Errorf("%w: --security-opt %q: name a loaded AppArmor profile, or use apparmor=unconfined", ErrInvalidOption, o)
			}
			so.apparmor = v
		default:
			return so, fmt.Errorf("%w: --security-opt %q is not supported: use no-new-privileges[=true|false], seccomp=unconfined, seccomp=PROFILE.json, apparmor=PROFILE, apparmor=unconfined or label=OPTION", ErrInvalidOption, o)
		}
	}
	return so, nil
}

func (so *securityOpts) setSeccomp(v string) error {
	switch v {
	case "":
		return fmt.Errorf("missing profile: use seccomp=unconfined or seccomp=PROFILE.json")
	case "unconfined":
		so.seccompMode = v
		return nil
	}
	data, err := os.ReadFile(v)
	if err != nil {
		return fmt.Errorf("read seccomp profile: %w", err)
	}
	so.seccompMode, so.seccompProfile, so.seccompPath = "profile", data, v
	return nil
}

// checkSysctl accepts only sysctls that are namespaced, so setting them
// cannot change the host: IPC ones, fs.mqueue.* and, unless the container
// shares the host network, net.*. The name is returned with dots.
func checkSysctl(kv string, hostNetwork bool) (string, string, error) {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("%w: --sysctl %q: want NAME=VALUE", ErrInvalidOption, kv)
	}
	k, ok = sysctlName(k)
	if !ok {
		return "", "", fmt.Errorf("%w: --sysctl %q: %q is not a sysctl name: write its parts between dots (or slashes), as in net.ipv4.ip_forward, with no empty part, \"..\" or space",
			ErrInvalidOption, kv, k)
	}
	ipc := []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
		"kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}
	switch {
	case slices.Contains(ipc, k), strings.HasPrefix(k, "fs.mqueue."):
		return k, v, nil
	case strings.HasPrefix(k, "net."):
		if hostNetwork {
			return "", "", fmt.Errorf("%w: --sysctl %s: net.* sysctls would change the host because the container uses the host network: drop --network host or the sysctl", ErrInvalidOption, k)
		}
		return k, v, nil
	case k == "kernel.hostname" || k == "kernel.domainname":
		return "", "", fmt.Errorf("%w: --sysctl %s: use --hostname instead", ErrInvalidOption, k)
	}
	return "", "", fmt.Errorf("%w: --sysctl %s is not namespaced, so it would change the host: only kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.* and net.* are allowed", ErrInvalidOption, k)
}

// sysctlName returns a sysctl name with dots between its parts. Dots and
// slashes both separate parts (sysctl(8) takes either, and libcontainer
// writes each as a directory separator under /proc/sys), so "." and ".."
// leave empty parts; a name with one, or with a NUL byte or white space,
// names no sysctl and is refused, before the namespace check, which
// net.ipv4/../../kernel/x would otherwise pass as one of net.*.
func sysctlName(k string) (string, bool) {
	parts := strings.Split(strings.ReplaceAll(k, "/", "."), ".")
	for _, p := range parts {
		if p == "" || strings.ContainsFunc(p, func(r rune) bool { return r == 0 || unicode.IsSpace(r) }) {
			return k, false
		}
	}
	return strings.Join(parts, "."), true
}

// rlimitNames maps docker's --ulimit names to RLIMIT_ constants' names.
func rlimitNames() map[string]string {
	return map[string]string{
		"as": "RLIMIT_AS", "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA",
		"fsize": "RLIMIT_FSIZE", "locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK",
		"msgqueue": "RLIMIT_MSGQUEUE", "nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE",
		"nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO", "rttime": "RLIMIT_RTTIME",
		"sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK",
	}
}

// ParseUlimit parses --ulimit NAME=SOFT[:HARD]; -1 means unlimited.
func ParseUlimit(s string) (typ string, soft, hard uint64, err error) {
	name, val, ok := strings.Cut(s, "=")
	typ, known := rlimitNames()[name]
	if !ok || !known {
		return "", 0, 0, fmt.Errorf("%w: --ulimit %q: want NAME=SOFT[:HARD] with NAME a limit of ulimit -a (nofile, nproc, core, memlock, stack and the like)", ErrInvalidOption, s)
	}
	softS, hardS, hasHard := strings.Cut(val, ":")
	if !hasHard {
		hardS = softS
	}
	if soft, err = parseRlimitValue(softS); err == nil {
		hard, err = parseRlimitValue(hardS)
	}
	if err != nil {
		return "", 0, 0, fmt.Errorf("%w: --ulimit %q: %w", ErrInvalidOption, s, err)
	}
	if soft > hard {
		return "", 0, 0, fmt.Errorf("%w: --ulimit %q: the soft limit is above the hard limit", ErrInvalidOption, s)
	}
	return typ, soft, hard, nil
}

func parseRlimitValue(s string) (uint64, error) {
	if s == "-1" || s == "unlimited" {
		return ^uint64(0), nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == ^uint64(0) {
		return 0, fmt.Errorf("%q is not a number (use -1 for unlimited)", s)
	}
	return n, nil
}

// checkLabelOption checks the value of an SELinux label= option: docker's
// disable, or user:, role:, type:, level: or filetype: with a value.
func checkLabelOption(v string) error {
	if v == "disable" {
		return nil
	}
	k, val, ok := strings.Cut(v, ":")
	switch {
	case !ok || val == "" || strings.ContainsAny(val, " \n\x00"):
	case k == "user", k == "role", k == "type", k == "level", k == "filetype":
		return nil
	}
	return fmt.Errorf("want label=disable or label=user:|role:|type:|level:|filetype: with a value (SELinux)")
}
