package cgroups

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Mode is how cgroups are mounted on the host.
type Mode int

const (
	// ModeV1 has only per-controller cgroup v1 hierarchies.
	ModeV1 Mode = iota + 1
	// ModeHybrid has v1 controller hierarchies plus a cgroup2 mount
	// elsewhere (usually /sys/fs/cgroup/unified); limits go to v1.
	ModeHybrid
	// ModeUnified has a single cgroup2 hierarchy at /sys/fs/cgroup.
	ModeUnified
)

func (m Mode) String() string {
	switch m {
	case ModeV1:
		return "v1"
	case ModeHybrid:
		return "hybrid"
	case ModeUnified:
		return "v2"
	}
	return "unknown"
}

// Host describes the cgroup layout and the CPUs of a machine.
type Host struct {
	Mode Mode
	// Controllers lists the controllers usable for limits (v1 names are
	// used for both versions: "cpu", "cpuset", "memory", "pids", ...).
	Controllers map[string]bool
	// V1Mounts maps a v1 controller to its mount point.
	V1Mounts map[string]string
	// UnifiedMount is the cgroup2 mount point, if any.
	UnifiedMount string
	// SwapAccounting is false when the kernel does not account swap, so
	// --memory-swap cannot be enforced (v1 only; assumed true on v2).
	SwapAccounting bool
	// OnlineCPUs are the CPUs the kernel has online.
	OnlineCPUs CPUList
}

// Detect reads the cgroup layout of the machine whose file system is at
// root ("/" for this machine; tests pass a fake tree): /proc/self/mountinfo,
// /proc/cgroups, the cgroup2 cgroup.controllers and
// /sys/devices/system/cpu/online.
func Detect(root string) (*Host, error) {
	mi, err := os.ReadFile(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("detect cgroups: %w", err)
	}
	h := &Host{Controllers: map[string]bool{}, V1Mounts: map[string]string{}}
	h.readMounts(mi)
	switch {
	case h.UnifiedMount == "/sys/fs/cgroup":
		h.Mode = ModeUnified
	case len(h.V1Mounts) > 0 && h.UnifiedMount != "":
		h.Mode = ModeHybrid
	case len(h.V1Mounts) > 0:
		h.Mode = ModeV1
	case h.UnifiedMount != "":
		h.Mode = ModeUnified
	default:
		return nil, fmt.Errorf("detect cgroups in %s: %w: mount cgroup2 on /sys/fs/cgroup (or let the init system do it)", root, ErrNoCgroups)
	}
	enabled, err := readProcCgroups(filepath.Join(root, "proc/cgroups"))
	if err != nil {
		return nil, err
	}
	if err := h.readControllers(root, enabled); err != nil {
		return nil, err
	}
	online, err := os.ReadFile(filepath.Join(root, "sys/devices/system/cpu/online"))
	if err != nil {
		return nil, fmt.Errorf("detect online CPUs: %w", err)
	}
	if h.OnlineCPUs, err = ParseCPUList(string(online)); err != nil {
		return nil, fmt.Errorf("detect online CPUs: %w", err)
	}
	return h, nil
}

// readMounts records the cgroup and cgroup2 mounts of a mountinfo file.
func (h *Host) readMounts(mountinfo []byte) {
	sc := bufio.NewScanner(bytes.NewReader(mountinfo))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 3 {
			continue
		}
		mnt := unescapeMount(fields[4])
		switch tail[0] {
		case "cgroup2":
			if h.UnifiedMount == "" || mnt == "/sys/fs/cgroup" {
				h.UnifiedMount = mnt
			}
		case "cgroup":
			for opt := range strings.SplitSeq(tail[2], ",") {
				if isController(opt) {
					h.V1Mounts[opt] = mnt
				}
			}
		}
	}
}

// isController filters the v1 super options down to controller names.
func isController(opt string) bool {
	switch opt {
	case "rw", "ro", "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods", "nsdelegate":
		return false
	}
	return !strings.Contains(opt, "=")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// readProcCgroups returns the enabled column of /proc/cgroups.
func readProcCgroups(p string) (map[string]bool, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("detect cgroup controllers: %w", err)
	}
	enabled := map[string]bool{}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		enabled[f[0]] = f[3] == "1"
	}
	return enabled, nil
}

// readControllers fills Controllers and SwapAccounting for the mode.
func (h *Host) readControllers(root string, enabled map[string]bool) error {
	if h.Mode == ModeUnified {
		p := filepath.Join(root, h.UnifiedMount, "cgroup.controllers")
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("detect cgroup v2 controllers: %w", err)
		}
		for c := range strings.FieldsSeq(string(data)) {
			if e, known := enabled[c]; !known || e {
				h.Controllers[c] = true
			}
		}
		// cpuset and cpu are separate controllers in v2 as well; the v2
		// "io" controller stands in for v1 "blkio".
		h.SwapAccounting = true
		return nil
	}
	for c := range h.V1Mounts {
		if e, known := enabled[c]; !known || e {
			h.Controllers[c] = true
		}
	}
	if mnt, ok := h.V1Mounts["memory"]; ok {
		_, err := os.Stat(filepath.Join(root, mnt, "memory.memsw.limit_in_bytes"))
		h.SwapAccounting = err == nil
	}
	return nil
}

// Path returns the cgroup path edgerun uses for a container, relative to
// the root of every hierarchy: /edgerun/<id>.
func Path(id string) string {
	return path.Join("/edgerun", id)
}
