package apparmor

import (
	"bytes"
	"fmt"
)

// Profile is the text of edgerun's default profile under name. It is
// written for edgerun, in the spirit of docker's default: a container may
// do what its capabilities, seccomp filter, namespaces and file
// permissions let it, except
//   - mount anything (mount, remount, bind, pivot_root): the runtime made
//     its mounts before the profile applied;
//   - write to the kernel's settings, /proc/sys and /sys (its own cgroup
//     under /sys/fs/cgroup stays writable, as cgroup namespaces expect),
//     or touch /proc/sysrq-trigger, /proc/kcore, /proc/kmem, /proc/mem and
//     the firmware and security interfaces;
//   - trace or be traced by processes outside this profile, or signal
//     them (the unconfined runtime may still signal it).
//
// It includes no abstraction files, so it loads on hosts with only
// apparmor_parser installed (an initramfs, a minimal image).
func Profile(name string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# edgerun's default container profile; loaded by edgerun, replaced when it changes.\n")
	fmt.Fprintf(&b, "profile %s flags=(attach_disconnected,mediate_deleted) {\n", name)
	b.WriteString(`  network,
  capability,
  file,
  umount,

  # Signals: among the containers of this profile, and from the runtime.
  signal (send,receive) peer=` + name + `,
  signal (receive) peer=unconfined,

  # ptrace only within the profile (a debugger inside a container works;
  # nothing outside can be traced, nothing here can be traced from another
  # confined process).
  ptrace (trace,read,tracedby,readby) peer=` + name + `,

  deny mount,
  deny remount,
  deny pivot_root,

  deny /proc/sys/** wklx,
  deny /proc/sysrq-trigger rwklx,
  deny /proc/kcore rwklx,
  deny /proc/kmem rwklx,
  deny /proc/mem rwklx,
  deny /proc/acpi/** rwklx,

  # /sys is the kernel's: nothing is written there but the container's own
  # cgroup files. AppArmor has no "except", so the deny rules cover every
  # path that does not begin /sys/fs/cgroup/.
  deny /sys/[^f]** wklx,
  deny /sys/f[^s]** wklx,
  deny /sys/fs/[^c]** wklx,
  deny /sys/fs/c[^g]** wklx,
  deny /sys/fs/cg[^r]** wklx,
  deny /sys/firmware/** rwklx,
  deny /sys/kernel/security/** rwklx,
}
`)
	return b.Bytes()
}
