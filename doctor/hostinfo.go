package doctor

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/edgerun/edgerun/cgroups"
)

// HostInfo is what `edgerun info` says of the machine, read from the same
// files as the checks (under Options.HostRoot), without trying anything.
type HostInfo struct {
	KernelVersion   string // /proc/sys/kernel/osrelease
	OperatingSystem string // PRETTY_NAME of /etc/os-release (or /usr/lib/os-release)
	OSVersion       string // its VERSION_ID
	OSType          string // linux
	Architecture    string // the kernel's machine: x86_64, aarch64, armv7l
	CPUs            int    // online CPUs
	MemTotal        int64  // bytes, MemTotal of /proc/meminfo
	Hostname        string
	// CgroupVersion is "2" for the unified layout, "1" for v1 and hybrid
	// (limits go to v1 there), "" without cgroups.
	CgroupVersion string
	// Seccomp says the kernel filters system calls (the default profile
	// applies); CgroupNS that it has cgroup namespaces (every container
	// gets one).
	Seccomp, CgroupNS bool
}

// Host reads the facts HostInfo holds.
func Host(o Options) HostInfo {
	r := o.HostRoot
	h := HostInfo{OSType: "linux", Architecture: o.Machine}
	h.KernelVersion, _ = readTrim(r, "proc/sys/kernel/osrelease")
	h.Hostname, _ = readTrim(r, "proc/sys/kernel/hostname")
	if arch, ok := readTrim(r, "proc/sys/kernel/arch"); ok && arch != "" {
		h.Architecture = arch
	}
	h.OperatingSystem, h.OSVersion = osRelease(r)
	if online, ok := readTrim(r, "sys/devices/system/cpu/online"); ok {
		if l, err := cgroups.ParseCPUList(online); err == nil {
			h.CPUs = len(l)
		}
	}
	h.MemTotal = memTotal(r)
	if cg, err := cgroups.Detect(r); err == nil {
		h.CgroupVersion = "1"
		if cg.Mode == cgroups.ModeUnified {
			h.CgroupVersion = "2"
		}
	}
	h.Seccomp = checkSeccomp(r).Status == OK
	h.CgroupNS = exists(filepath.Join(r, "proc/self/ns/cgroup"))
	return h
}

// osRelease reads PRETTY_NAME and VERSION_ID of os-release(5).
func osRelease(root string) (name, version string) {
	for _, p := range []string{"etc/os-release", "usr/lib/os-release"} {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok {
				continue
			}
			if uq, err := strconv.Unquote(v); err == nil {
				v = uq
			} else {
				v = strings.Trim(v, `'"`)
			}
			switch k {
			case "PRETTY_NAME":
				name = v
			case "VERSION_ID":
				version = v
			}
		}
		return name, version
	}
	return "", ""
}

// memTotal is MemTotal of /proc/meminfo in bytes (0 when unreadable).
func memTotal(root string) int64 {
	f, err := os.Open(filepath.Join(root, "proc/meminfo"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
