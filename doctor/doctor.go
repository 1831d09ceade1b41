// Package doctor reports what a host can and cannot do for edgerun: the
// cgroup layout and controllers, user namespaces, subordinate ID ranges,
// overlayfs on the storage file system, the network modules, forward
// chains of the host's firewall that drop the bridge's traffic, seccomp,
// the clock, free space and the real CPU architecture; run as an ordinary user,
// also what rootless edgerun needs (newuidmap/newgidmap, cgroup delegation,
// slirp4netns and /dev/net/tun, unprivileged ports, lingering). Each check
// says what it found and, when something is missing, how to fix it.
//
// Facts are read from a host root directory ("/" on a real machine), so
// tests feed fake /proc, /sys and /etc trees. Checks that must act (mount an
// overlay, open /dev/net/tun) or ask the kernel about this process's
// credentials are functions in Options that tests replace. It may import
// only cgroups (layout detection), rootless (the subordinate ID rules the
// session applies) and internal/armcpu of this module.
package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Status is the outcome of one check.
type Status string

const (
	// OK: edgerun has what it needs.
	OK Status = "ok"
	// Warn: containers run, but a feature is unavailable or degraded.
	Warn Status = "warn"
	// Fail: edgerun cannot run containers here until this is fixed.
	Fail Status = "fail"
)

// Check is one line of the report.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
	// Commands are the fix's shell commands, one per entry, when it is
	// a list of commands to run.
	Commands []string `json:"commands,omitempty"`
}

// Report is the result of Run. OK is true when no check failed, that is
// when edgerun can run containers on this host.
type Report struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// Options says where to look and how to probe.
type Options struct {
	// HostRoot is where /proc, /sys, /etc and /lib/modules are read ("/").
	HostRoot string
	// Root and State are edgerun's persistent and volatile directories:
	// their file systems are checked for space and overlay support.
	Root, State string
	// UID is the effective user running edgerun; User is the name of the
	// invoking user (SUDO_USER under sudo) whose subuid ranges are checked.
	UID  int
	User string
	// GOARCH and GOARM describe this binary ("arm", "7"); Machine is the
	// kernel's uname machine, used when /proc/sys/kernel/arch is missing.
	GOARCH, GOARM, Machine string
	// Now is the current time and Built the time of the commit the binary
	// was built from (zero: unknown); a clock before Built is implausible.
	Now, Built time.Time
	// ProbeOverlay tries an overlay mount in a temp dir under dir; when
	// userns is true, inside a new user namespace. Nil skips the probe.
	ProbeOverlay func(dir string, userns bool) error
	// ProbeNetwork tries the network modules for real and returns an error
	// per module name that failed (nil: only the files are read).
	ProbeNetwork func() map[string]error
	// Bridge is edgerun's bridge (--bridge); ForwardBlocks returns the
	// forward chains of the host's firewall that drop its traffic (nil:
	// not checked).
	Bridge        string
	ForwardBlocks func() ([]ForwardBlock, error)
	// Statfs returns free bytes and free inodes of the file system holding
	// path (nil: no space check).
	Statfs func(path string) (bytes, inodes uint64, fstype string, err error)

	// Rootless readiness, checked when UID is not 0.
	//
	// Path is the $PATH in which edgerun looks for newuidmap, newgidmap
	// and slirp4netns, each directory taken under HostRoot ("": the
	// usual system directories).
	Path string
	// HelperPrivilege says how the setuid helper at path (under HostRoot)
	// gains its privileges ("setuid root", "file capabilities"), or why it
	// cannot (nil: only whether it is installed is checked).
	HelperPrivilege func(path string) (how string, err error)
	// Writable reports whether the user running doctor may write path, a
	// cgroup directory or file under HostRoot (nil: delegation is not
	// checked).
	Writable func(path string) bool
	// ProbeTun opens /dev/net/tun as the user, as slirp4netns must (nil:
	// not checked).
	ProbeTun func() error
	// ProbeUserns starts a process in a new user namespace, as the
	// session's holder is started (nil: only the sysctls are read).
	ProbeUserns func() error
}

// Run performs every check.
func Run(o Options) Report {
	var checks []Check
	checks = append(checks, checkPrivileges(o))
	checks = append(checks, checkCgroups(o.HostRoot)...)
	checks = append(checks, checkSeccomp(o.HostRoot))
	checks = append(checks, checkAppArmor(o))
	checks = append(checks, checkUserns(o)...)
	checks = append(checks, checkSubIDs(o)...)
	checks = append(checks, checkStorage(o)...)
	checks = append(checks, checkNetwork(o)...)
	checks = append(checks, checkFirewall(o)...)
	checks = append(checks, checkRootless(o)...)
	checks = append(checks, checkClock(o))
	checks = append(checks, checkArch(o)...)
	r := Report{OK: true, Checks: checks}
	for _, c := range checks {
		if c.Status == Fail {
			r.OK = false
		}
	}
	return r
}

// WriteText prints one line per check, its fix indented below it, and a
// verdict.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, c := range r.Checks {
		fmt.Fprintf(&b, "%-4s  %-14s %s\n", c.Status, c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(&b, "%-4s  %-14s fix: %s\n", "", "", c.Fix)
		}
		for _, cmd := range c.Commands {
			fmt.Fprintf(&b, "%-4s  %-14s   %s\n", "", "", cmd)
		}
	}
	if r.OK {
		b.WriteString("edgerun can run containers on this host\n")
	} else {
		b.WriteString("edgerun cannot run containers on this host: fix the checks marked fail\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the report as one JSON document.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
