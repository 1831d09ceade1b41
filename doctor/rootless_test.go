package doctor

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// asPi runs doctor as the ordinary user pi (uid 1000) of base(), whose
// subordinate ranges are by name in /etc/subuid and by UID in /etc/subgid.
func asPi(more ...func(*Options)) func(*Options) {
	return func(o *Options) {
		o.UID, o.User = 1000, "pi"
		for _, f := range more {
			f(o)
		}
	}
}

// helpers installs newuidmap and newgidmap in /usr/bin.
func helpers(h host) host {
	return h.with("usr/bin/newuidmap", "#!", "usr/bin/newgidmap", "#!")
}

func setuidRoot(string) (string, error) { return "setuid root", nil }

// v2Delegated is a cgroup v2 host where pi's user manager has a delegated
// cgroup and the command runs in a session scope (an SSH login).
func v2Delegated() host {
	return base().with(
		"proc/self/cgroup", "0::/user.slice/user-1000.slice/session-4.scope\n",
		"sys/fs/cgroup/user.slice/user-1000.slice/session-4.scope/cgroup.procs", "",
		"sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.procs", "",
		"sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.controllers", "cpu memory pids\n",
		"sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.subtree_control", "cpu memory pids\n")
}

// writableUnder makes every path below dir writable, and nothing else.
func writableUnder(dir string) func(*Options) {
	return func(o *Options) {
		o.Writable = func(p string) bool { return strings.Contains(p, dir) }
	}
}

func TestRunReportsRootlessReadiness(t *testing.T) {
	noRanges := func(o *Options) { o.UID, o.User = 1001, "bob" }
	runHostCases(t, []hostCase{
		{"root is pointed at the user's doctor", base(), nil, "rootless", OK, []string{"ordinary user runs edgerun doctor"}, true},
		{"user namespaces blocked fail a user", base().with("proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n"), asPi(),
			"userns", Fail, []string{"apparmor_restrict_unprivileged_userns is 1", "every command of yours fails", "docs/rootless.md"}, false},
		{"no user namespaces fail a user", base().with("proc/self/ns/user", "-"), asPi(),
			"userns", Fail, []string{"no user namespaces", "CONFIG_USER_NS"}, false},
		{"user namespaces made for the check", base(), asPi(func(o *Options) { o.ProbeUserns = func() error { return nil } }),
			"userns", OK, []string{"allowed", "one was made for this check"}, true},
		{"user namespaces allowed but refused by seccomp", base(), asPi(func(o *Options) {
			o.ProbeUserns = func() error {
				return errors.New("create a user namespace: fork/exec /edgerun: operation not permitted")
			}
		}), "userns", Fail, []string{"making one fails here", "operation not permitted", "seccomp=unconfined", "every command of yours fails"}, false},
		{"the probe is not run as root", base(), func(o *Options) {
			o.ProbeUserns = func() error { return errors.New("must not be called") }
		}, "userns", OK, []string{"allowed"}, true},
		{"/proc fully visible", base(), asPi(), "proc", OK, []string{"fully visible"}, true},
		{"binfmt_misc does not hide /proc", base().with("proc/self/mountinfo", v2Mountinfo+
			"40 22 0:40 / /proc/sys/fs/binfmt_misc rw,relatime shared:20 - binfmt_misc binfmt_misc rw\n"), asPi(), "proc", OK, []string{"fully visible"}, true},
		{"a container's masked /proc", base().with("proc/self/mountinfo", v2Mountinfo+
			"50 40 0:50 /bus /proc/bus ro,nosuid - proc proc rw\n51 40 0:51 / /proc/kcore rw,nosuid - tmpfs tmpfs ro\n"), asPi(),
			"proc", Fail, []string{"/proc/bus /proc/kcore", "error mounting", "systempaths=unconfined", "unmask=ALL"}, false},
		{"subordinate ranges", base(), asPi(), "subids", OK, []string{"pi has 65536 subordinate UIDs and 65536 GIDs", "map 0 to pi"}, true},
		{"no ranges: the single-ID mapping", base(), noRanges,
			"subids", Warn, []string{"single-ID mapping", "-u or --group-add", "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 bob"}, true},
		{"a user without a passwd entry, by UID", base().with("etc/subuid", "1234:100000:65536\n", "etc/subgid", "1234:100000:65536\n"),
			func(o *Options) { o.UID, o.User = 1234, "1234" }, "subids", OK, []string{"1234 has 65536 subordinate UIDs"}, true},
		{"a range too small", base().with("etc/subgid", "pi:100000:1000\n"), asPi(),
			"subids", Warn, []string{"fewer than 65536 subordinate IDs in /etc/subgid:", "single-ID"}, true},

		{"helpers setuid root", helpers(base()), asPi(func(o *Options) { o.HelperPrivilege = setuidRoot }),
			"uidmap", OK, []string{"/usr/bin/newuidmap (setuid root)", "/usr/bin/newgidmap (setuid root)"}, true},
		{"helpers found in the user's PATH only", base().with("opt/tools/bin/newuidmap", "#!", "opt/tools/bin/newgidmap", "#!"),
			asPi(func(o *Options) { o.Path = "/usr/bin:/opt/tools/bin" }), "uidmap", OK, []string{"/opt/tools/bin/newuidmap"}, true},
		{"helpers missing", base(), asPi(), "uidmap", Warn, []string{"newuidmap and newgidmap not installed", "single-ID", "apt install uidmap"}, true},
		{"helpers missing and no ranges", base(), noRanges, "uidmap", Warn, []string{"also needs subordinate ranges"}, true},
		{"a helper without privileges fails a user with ranges", helpers(base()), asPi(func(o *Options) {
			o.HelperPrivilege = func(p string) (string, error) {
				if strings.HasSuffix(p, "newgidmap") {
					return "", errors.New("neither setuid root nor given file capabilities")
				}
				return "setuid root", nil
			}
		}), "uidmap", Fail, []string{"/usr/bin/newgidmap cannot gain privileges", "every command fails (exit 125)", "chmod u+s", "setcap cap_setgid+ep", "remove your ranges"}, false},
		{"a helper without privileges warns a user without ranges", helpers(base()), func(o *Options) {
			noRanges(o)
			o.HelperPrivilege = func(string) (string, error) { return "", errors.New("mounted nosuid") }
		}, "uidmap", Warn, []string{"mounted nosuid", "not needed yet"}, true},
		{"no_new_privs defeats setuid", helpers(base()).with("proc/self/status", "Name:\tedgerun\nNoNewPrivs:\t1\nSeccomp:\t2\n"),
			asPi(func(o *Options) { o.HelperPrivilege = setuidRoot }),
			"uidmap", Fail, []string{"NoNewPrivs: 1", "no-new-privileges"}, false},

		{"cgroup v1: never delegated", base().with("proc/self/mountinfo", v1Mountinfo), asPi(),
			"delegation", Warn, []string{"never delegated", "--memory", "refused (exit 125)", "as root", "systemd.unified_cgroup_hierarchy=1"}, true},
		{"cgroup v2, the command runs below the delegated user manager", v2Delegated().with("proc/self/cgroup", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope\n",
			"sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope/cgroup.controllers", "\n",
			"sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.controllers", "cpu cpuset memory pids\n"),
			asPi(writableUnder("user@1000.service")),
			"delegation", OK, []string{"the cgroup /user.slice/user-1000.slice/user@1000.service is delegated to you (controllers: memory cpu cpuset pids; this command runs in /user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope)",
				"user@1000.service/edgerun/ID", "every limit flag works"}, true},
		{"cgroup v2, a cgroup made by root for the user", base().with("proc/self/cgroup", "0::/runner/shell\n",
			"sys/fs/cgroup/runner/cgroup.controllers", "cpuset cpu io memory pids\n", "sys/fs/cgroup/runner/cgroup.procs", "",
			"sys/fs/cgroup/runner/cgroup.subtree_control", "\n"), asPi(writableUnder("/runner")),
			"delegation", OK, []string{"the cgroup /runner is delegated to you", "(/runner/edgerun/ID)"}, true},
		{"cgroup v2, delegated as systemd does by default: no cpuset", v2Delegated().with("proc/self/cgroup", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope\n"),
			asPi(writableUnder("user@1000.service")),
			"delegation", OK, []string{"every limit flag but --cpuset-cpus works (cpuset is not delegated", "optional: for --cpuset-cpus, delegate cpuset too", "/user.slice/user-1000.slice"}, true},
		{"cgroup v2, delegated without cpu", v2Delegated().with("proc/self/cgroup", "0::/user.slice/user-1000.slice/user@1000.service/app.slice/run-1.scope\n",
			"sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/cgroup.controllers", "memory pids\n"),
			asPi(writableUnder("user@1000.service")),
			"delegation", Warn, []string{"user@1000.service delegated to you lacks the cpu controller(s) (controllers: memory pids; without cpu)", "refused (exit 125)", "Delegate=memory pids cpu in user@.service"}, true},
		{"cgroup v2, the shell in the delegated cgroup itself", base().with("proc/self/cgroup", "0::/runner\n",
			"sys/fs/cgroup/runner/cgroup.controllers", "cpu memory pids\n", "sys/fs/cgroup/runner/cgroup.procs", "77\n88\n",
			"sys/fs/cgroup/runner/cgroup.subtree_control", "\n"), asPi(writableUnder("/runner")),
			"delegation", Warn, []string{"/runner delegated to you holds 2 processes of its own", "cannot enable memory, pids, cpu", "refused (exit 125)", "runner/shell/cgroup.procs"}, true},
		{"cgroup v2, only the user manager delegated", v2Delegated(), asPi(writableUnder("user@1000.service")),
			"delegation", Warn, []string{"user@1000.service is delegated to you (controllers: memory cpu pids), but this command runs in /user.slice/user-1000.slice/session-4.scope, outside it", "systemd-run --user --scope -p Delegate=yes"}, true},
		{"cgroup v2, nothing delegated", v2Delegated(), asPi(writableUnder("nowhere")),
			"delegation", Warn, []string{"no cgroup is delegated to you", "loginctl enable-linger pi", "Delegate=cpu cpuset io memory pids", "chowns it"}, true},

		{"slirp4netns installed", base().with("usr/bin/slirp4netns", "#!"), asPi(), "slirp4netns", OK, []string{"/usr/bin/slirp4netns", "10.0.2.2"}, true},
		{"slirp4netns missing, pasta there", base().with("usr/bin/pasta", "#!"), asPi(),
			"slirp4netns", Warn, []string{"bridge) is refused", "--network none and host work", "pasta is installed", "apt install slirp4netns"}, true},
		{"a directory is no slirp4netns", base().with("usr/bin/slirp4netns/x", ""), asPi(), "slirp4netns", Warn, []string{"not installed"}, true},
		{"tun opens", base(), asPi(func(o *Options) { o.ProbeTun = func() error { return nil } }), "tun", OK, []string{"tap0"}, true},
		{"no tun device", base(), asPi(func(o *Options) {
			o.ProbeTun = func() error { return &fs.PathError{Op: "open", Path: "/dev/net/tun", Err: unix.ENOENT} }
		}), "tun", Warn, []string{"no such file", "modprobe tun", "--device /dev/net/tun"}, true},
		{"tun not for users", base(), asPi(func(o *Options) {
			o.ProbeTun = func() error { return &fs.PathError{Op: "open", Path: "/dev/net/tun", Err: unix.EACCES} }
		}), "tun", Warn, []string{"permission denied", "chmod 0666 /dev/net/tun"}, true},

		{"ports from 1024", base().with("proc/sys/net/ipv4/ip_unprivileged_port_start", "1024\n"), asPi(),
			"ports", OK, []string{"from 1024 up", "refused (exit 125)", "optional", "ip_unprivileged_port_start=80"}, true},
		{"every port", base().with("proc/sys/net/ipv4/ip_unprivileged_port_start", "0\n"), asPi(), "ports", OK, []string{"any host port"}, true},
		{"an old kernel without the sysctl", base(), asPi(), "ports", OK, []string{"before 4.11", "from 1024 up"}, true},

		{"systemd without lingering", base().with("run/systemd/system/.keep", ""), asPi(),
			"linger", Warn, []string{"lingering is off for pi", "XDG_RUNTIME_DIR", "loginctl enable-linger pi", "contrib/edgerun-user.service"}, true},
		{"systemd with lingering", base().with("run/systemd/system/.keep", "", "var/lib/systemd/linger/pi", ""), asPi(),
			"linger", OK, []string{"lingering is on for pi"}, true},

		{"overlay in a user namespace, for a user", base(), asPi(func(o *Options) { o.ProbeOverlay = func(string, bool) error { return nil } }),
			"overlay-userns", OK, []string{"rootless container root file systems share the image layers"}, true},
	})
}

// TestRunAsUserSkipsWhatOnlyRootDoes: an ordinary user cannot mount an
// overlay outside a user namespace, so that probe is not run for it (it
// would always warn); lingering is not checked without systemd.
func TestRunAsUserSkipsWhatOnlyRootDoes(t *testing.T) {
	o := options(base().write(t))
	asPi()(&o)
	var probed []bool
	o.ProbeOverlay = func(_ string, userns bool) error { probed = append(probed, userns); return nil }
	r := Run(o)
	for _, c := range r.Checks {
		switch c.Name {
		case "overlay", "linger", "tun", "rootless":
			t.Errorf("a user's report has a %s check: %+v", c.Name, c)
		}
	}
	if len(probed) != 1 || !probed[0] {
		t.Errorf("overlay probes (userns?) %v, want only the user-namespace one", probed)
	}
	for _, name := range []string{"uidmap", "delegation", "slirp4netns", "ports"} {
		find(t, r, name)
	}
}
