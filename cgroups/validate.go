package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Validate checks limits against the host: every limit that is set needs
// its controller, --oom-kill-disable needs cgroup v1's memory controller,
// --cpus may not exceed the online CPUs and --cpuset-cpus may only name
// online CPUs. Limits that are not set need nothing, so a host without
// the memory controller still runs containers without --memory.
func Validate(l Limits, h *Host) error {
	var errs []error
	for _, u := range l.uses() {
		errs = append(errs, h.need(u.controller, u.flag))
	}
	if l.OOMKillDisable && h.Mode == ModeUnified {
		// v2 has no memory.oom_control; libcontainer would drop the
		// setting without a word, docker drops it with a warning.
		errs = append(errs, fmt.Errorf("%w: --oom-kill-disable: this host has cgroup v2, which cannot turn off the OOM killer of a cgroup "+
			"(only cgroup v1's memory.oom_control can): drop --oom-kill-disable; to keep the kernel from choosing the container's processes, "+
			"use --oom-score-adj=-1000", ErrUnsupportedLimit))
	}
	if l.Memory > 0 && l.MemorySwap != 0 && h.Controllers["memory"] && !h.SwapAccounting {
		errs = append(errs, fmt.Errorf("%w: swap accounting is disabled on this kernel, so --memory-swap cannot be enforced: "+
			"add `swapaccount=1` to the kernel command line (/boot/firmware/cmdline.txt on Raspberry Pi OS) and reboot, or run without --memory-swap", ErrControllerUnavailable))
	}
	if l.NanoCPUs > 0 {
		errs = append(errs, h.checkCPUs(l.NanoCPUs))
	}
	if len(l.CPUSet) > 0 {
		errs = append(errs, h.checkCPUSet(l.CPUSet))
	}
	return errors.Join(errs...)
}

// Warnings are what the user should know about limits Validate took:
// --oom-kill-disable without --memory, as docker warns (its words, "may
// be dangerous", leave out why: the host's OOM killer ignores the flag).
func (l Limits) Warnings() []string {
	if l.OOMKillDisable && l.Memory == 0 {
		return []string{"--oom-kill-disable without --memory does not protect the container: it turns off the OOM killer " +
			"of the container's own memory limit, and when the host runs out of memory the kernel's OOM killer still chooses " +
			"among all processes, this container's too: set --memory as well (the container then waits at its limit " +
			"instead of losing a process), or use --oom-score-adj=-1000 to keep the kernel from choosing it"}
	}
	return nil
}

// use is a controller a set limit needs, and the flag that set it.
type use struct{ controller, flag string }

// uses lists the controllers of the limits that are set.
func (l Limits) uses() []use {
	var u []use
	if l.Memory > 0 {
		u = append(u, use{"memory", "--memory"})
	}
	if l.MemoryReservation > 0 {
		u = append(u, use{"memory", "--memory-reservation"})
	}
	if l.OOMKillDisable {
		u = append(u, use{"memory", "--oom-kill-disable"})
	}
	if l.NanoCPUs > 0 {
		u = append(u, use{"cpu", "--cpus"})
	}
	if l.CPUShares > 0 {
		u = append(u, use{"cpu", "--cpu-shares"})
	}
	if len(l.CPUSet) > 0 {
		u = append(u, use{"cpuset", "--cpuset-cpus"})
	}
	if l.PidsLimit > 0 {
		u = append(u, use{"pids", "--pids-limit"})
	}
	return u
}

// ValidateDelegated checks limits against the cgroup delegated to a
// rootless user (Delegation, below h's cgroup2 mount): a limit whose
// controller the host has but the delegation does not pass on is refused
// with the fix. cpuset is the usual one: systemd's user@.service delegates
// memory, pids and cpu by default. "" (root, no delegation) checks nothing.
func ValidateDelegated(l Limits, h *Host, delegated string) error {
	if delegated == "" || len(l.uses()) == 0 {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(h.UnifiedMount, delegated, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("read the controllers of the cgroup %s delegated to you: %w", delegated, err)
	}
	have := strings.Fields(string(b))
	var errs []error
	for _, u := range l.uses() {
		if !slices.Contains(have, u.controller) {
			errs = append(errs, fmt.Errorf("%w: %s needs the %s controller, which the cgroup %s delegated to you does not have (it has: %s): "+
				"delegate it too (systemctl edit user@.service: [Service] Delegate=%s %s), or have root enable it in the cgroup.subtree_control of %s's parent; or run without %s",
				ErrControllerUnavailable, u.flag, u.controller, delegated, strings.Join(have, " "),
				strings.Join(DelegatedControllers, " "), u.controller, delegated, u.flag))
		}
	}
	return errors.Join(errs...)
}

// ControllerError reports a limit flag whose cgroup controller the kernel
// does not provide. It matches ErrControllerUnavailable with errors.Is.
type ControllerError struct {
	Controller string // "memory", "cpu", "cpuset", "pids"
	Flag       string // the flag that needs it, e.g. "--memory"
}

func (e *ControllerError) Error() string {
	return fmt.Sprintf("%s cgroup controller is disabled on this kernel: add `%s` to /boot/firmware/cmdline.txt "+
		"(Raspberry Pi OS; /boot/cmdline.txt on older releases) and reboot, or run without %s", e.Controller, EnableParam(e.Controller), e.Flag)
}

// EnableParam is what the kernel command line needs to enable controller
// (edgerun doctor gives the same fix).
func EnableParam(controller string) string {
	if controller == "memory" {
		// The Raspberry Pi kernel also wants cgroup_memory=1.
		return "cgroup_enable=memory cgroup_memory=1"
	}
	return "cgroup_enable=" + controller
}

// CmdlineFix is where a kernel parameter goes, after "add `PARAM` ": on a
// Raspberry Pi (and most ARM boards) cmdline.txt, elsewhere GRUB's
// default command line (edgerun doctor and stats give the same fix).
const CmdlineFix = "to the single line of /boot/firmware/cmdline.txt (Raspberry Pi OS bookworm; /boot/cmdline.txt before), " +
	"or to GRUB_CMDLINE_LINUX in /etc/default/grub then update-grub, and reboot"

// MemoryOffNote tells that the kernel keeps no memory figures for
// containers (Usage.MemoryAccounting false) and how to change that, given
// the kernel command line (/proc/cmdline).
func MemoryOffNote(cmdline string) string {
	why, fix := "the memory cgroup controller is not enabled", "add `"+EnableParam("memory")+"` "
	if slices.Contains(strings.Fields(cmdline), "cgroup_disable=memory") {
		why = "the memory cgroup controller is disabled by cgroup_disable=memory on the kernel command line"
		fix = "remove cgroup_disable=memory and add `" + EnableParam("memory") + "` "
	}
	return "memory accounting is off on this kernel (" + why + "), so stats shows no memory figures (--): " + fix + CmdlineFix
}

// Is makes errors.Is(err, ErrControllerUnavailable) true.
func (e *ControllerError) Is(target error) bool { return target == ErrControllerUnavailable }

// need returns a *ControllerError when the host lacks controller.
func (h *Host) need(controller, flag string) error {
	if h.Controllers[controller] {
		return nil
	}
	return &ControllerError{Controller: controller, Flag: flag}
}

func (h *Host) checkCPUs(nano int64) error {
	n := int64(len(h.OnlineCPUs))
	if n == 0 || nano <= n*1e9 {
		return nil
	}
	return fmt.Errorf("%w: --cpus %s is more than the %d CPUs online on this host: use a value from 0.01 to %d",
		ErrInvalidLimit, formatCPUs(nano), n, n)
}

func (h *Host) checkCPUSet(set CPUList) error {
	for _, c := range set {
		if !h.OnlineCPUs.Contains(c) {
			return fmt.Errorf("%w: --cpuset-cpus %s: CPU %d is not online on this host (online: %s)",
				ErrInvalidLimit, set, c, h.OnlineCPUs)
		}
	}
	return nil
}

func formatCPUs(nano int64) string {
	return strconv.FormatFloat(float64(nano)/1e9, 'f', -1, 64)
}
