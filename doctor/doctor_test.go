package doctor

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Mountinfo lines of the cgroup layouts.
const (
	v2Mountinfo = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
	v1Mountinfo = "31 23 0:27 / /sys/fs/cgroup/memory rw shared:5 - cgroup cgroup rw,memory\n" +
		"32 23 0:28 / /sys/fs/cgroup/cpu,cpuacct rw shared:6 - cgroup cgroup rw,cpu,cpuacct\n" +
		"33 23 0:29 / /sys/fs/cgroup/pids rw shared:7 - cgroup cgroup rw,pids\n" +
		"34 23 0:30 / /sys/fs/cgroup/cpuset rw shared:8 - cgroup cgroup rw,cpuset\n"
	procCgroups = "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t0\t1\t1\ncpu\t0\t1\t1\nmemory\t0\t1\t%s\npids\t0\t1\t1\n"
)

// host is a fake machine: files relative to its root.
type host map[string]string

// base is a healthy cgroup v2 arm64 Raspberry Pi OS bookworm.
func base() host {
	return host{
		"proc/self/mountinfo":                       v2Mountinfo,
		"proc/cgroups":                              strings.Replace(procCgroups, "%s", "1", 1),
		"sys/fs/cgroup/cgroup.controllers":          "cpuset cpu io memory pids\n",
		"sys/devices/system/cpu/online":             "0-3\n",
		"proc/cmdline":                              "console=serial0,115200 root=PARTUUID=1-02 rootwait\n",
		"proc/self/status":                          "Name:\tedgerun\nSeccomp:\t0\nSeccomp_filters:\t0\n",
		"proc/sys/kernel/seccomp/actions_avail":     "kill_process kill_thread trap errno user_notif trace log allow\n",
		"proc/self/ns/user":                         "",
		"proc/sys/user/max_user_namespaces":         "15000\n",
		"proc/sys/kernel/osrelease":                 "6.6.51+rpt-rpi-v8\n",
		"proc/sys/kernel/arch":                      "aarch64\n",
		"proc/modules":                              "bridge 245760 0 - Live 0x0\n",
		"lib/modules/6.6.51+rpt-rpi-v8/modules.dep": "kernel/drivers/net/veth.ko.xz:\nkernel/net/netfilter/nf_tables.ko.xz: kernel/net/netfilter/nfnetlink.ko.xz\n",
		"etc/passwd":                                "root:x:0:0::/root:/bin/sh\npi:x:1000:1000::/home/pi:/bin/bash\n",
		"etc/subuid":                                "pi:100000:65536\n",
		"etc/subgid":                                "1000:100000:65536\n",
	}
}

func (h host) with(kv ...string) host {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "-" {
			delete(h, kv[i])
		} else {
			h[kv[i]] = kv[i+1]
		}
	}
	return h
}

func (h host) write(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for name, data := range h {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.Contains(name, "bin/") {
			mode = 0o755 // programs, found as exec.LookPath finds them
		}
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// options returns Options for a fake host, as root, arm64, with a plausible
// clock and roomy disks, without live probes.
func options(root string) Options {
	return Options{HostRoot: root, Root: root, State: root, UID: 0, User: "root", GOARCH: "arm64",
		Now: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), Built: time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)}
}

// find returns the check named name (fails the test when missing).
func find(t *testing.T, r Report, name string) Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check in %+v", name, r.Checks)
	return Check{}
}

func TestRunReportsHostFacts(t *testing.T) {
	piZero, err := os.ReadFile("testdata/cpuinfo-pi-zero")
	if err != nil {
		t.Fatal(err)
	}
	pi4, err := os.ReadFile("testdata/cpuinfo-pi4")
	if err != nil {
		t.Fatal(err)
	}
	runHostCases(t, []hostCase{
		{"v2 with every controller", base(), nil, "cgroups", OK, []string{"cgroup v2 (unified)", "memory"}, true},
		{"memory disabled on the command line", base().with(
			"proc/cmdline", "console=tty1 cgroup_disable=memory\n",
			"proc/cgroups", strings.Replace(procCgroups, "%s", "0", 1),
			"sys/fs/cgroup/cgroup.controllers", "cpuset cpu io pids\n"), nil,
			"memory", Warn, []string{"disabled by cgroup_disable=memory", "--memory", "cgroup_enable=memory cgroup_memory=1", "/boot/firmware/cmdline.txt"}, true},
		{"pids controller missing", base().with("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory\n"), nil,
			"pids", Warn, []string{"pids cgroup controller is not enabled", "--pids-limit", "cgroup_enable=pids"}, true},
		{"cgroup v1 layout", base().with("proc/self/mountinfo", v1Mountinfo), nil,
			"cgroups", OK, []string{"cgroup v1 layout", "systemd.unified_cgroup_hierarchy=1"}, true},
		{"no cgroups mounted", base().with("proc/self/mountinfo", "22 1 0:21 / / rw - ext4 /dev/root rw\n"), nil,
			"cgroups", Fail, []string{"no cgroup file system mounted", "mount -t cgroup2"}, false},
		{"no seccomp", base().with("proc/self/status", "Name:\tedgerun\n"), nil,
			"seccomp", Fail, []string{"no seccomp", "CONFIG_SECCOMP"}, false},
		{"not root: rootless", base(), func(o *Options) { o.UID = 1000; o.User = "pi" },
			"privileges", OK, []string{"uid 1000", "rootless mode", "pi's commands"}, true},
		{"user namespaces allowed", base(), nil, "userns", OK, []string{"allowed", "15000"}, true},
		{"max_user_namespaces 0", base().with("proc/sys/user/max_user_namespaces", "0\n"), nil,
			"userns", Warn, []string{"max_user_namespaces is 0", "sysctl -w user.max_user_namespaces=15000"}, true},
		{"debian unprivileged_userns_clone 0", base().with("proc/sys/kernel/unprivileged_userns_clone", "0\n"), nil,
			"userns", Warn, []string{"unprivileged_userns_clone is 0", "sysctl -w kernel.unprivileged_userns_clone=1"}, true},
		{"ubuntu apparmor restriction", base().with("proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1\n"), nil,
			"userns", Warn, []string{"apparmor_restrict_unprivileged_userns is 1", "AppArmor profile"}, true},
		{"no user namespaces in the kernel", base().with("proc/self/ns/user", "-"), nil,
			"userns", Warn, []string{"no user namespaces", "CONFIG_USER_NS"}, true},
		{"subids by name and uid", base(), func(o *Options) { o.User = "pi" },
			"subids", OK, []string{"pi has 65536 subordinate UIDs and 65536 GIDs"}, true},
		{"subids missing", base(), func(o *Options) { o.User = "bob" },
			"subids", Warn, []string{"/etc/subuid and /etc/subgid", "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 bob"}, true},
		{"bridge loaded", base(), nil, "bridge", OK, []string{"bridge loaded"}, true},
		{"veth installed as a module", base(), nil, "veth", OK, []string{"available as a module"}, true},
		{"nf_tables installed as a module", base(), nil, "nf_tables", OK, []string{"available as a module"}, true},
		{"veth built in per the kernel config", base().with("lib/modules/6.6.51+rpt-rpi-v8/modules.dep", "-",
			"boot/config-6.6.51+rpt-rpi-v8", "CONFIG_VETH=y\nCONFIG_NF_TABLES=m\n"), nil,
			"veth", OK, []string{"built into the kernel"}, true},
		{"nf_tables absent", base().with("lib/modules/6.6.51+rpt-rpi-v8/modules.dep", "-"), nil,
			"nf_tables", Warn, []string{"neither loaded, built in nor installed", "--network host and none still work", "CONFIG_NF_TABLES"}, true},
		{"network probe wins over files", base(), func(o *Options) {
			o.ProbeNetwork = func() map[string]error { return map[string]error{"veth": errors.New("operation not supported")} }
		}, "veth", Warn, []string{"veth does not work: operation not supported"}, true},
		{"network probe passes", base(), func(o *Options) {
			o.ProbeNetwork = func() map[string]error { return map[string]error{} }
		}, "nf_tables", OK, []string{"works (tried in a throwaway network namespace)"}, true},
		{"clock before the build", base(), func(o *Options) { o.Now = time.Date(1970, 1, 1, 0, 0, 12, 0, time.UTC) },
			"clock", Warn, []string{"1970-01-01", "before this edgerun was built", "NTP"}, true},
		{"clock after the build", base(), nil, "clock", OK, []string{"after this build's commit"}, true},
		{"arm64", base(), nil, "arch", OK, []string{"linux/arm64 (kernel aarch64)"}, true},
		{"pi zero reports v7", base().with("proc/cpuinfo", string(piZero), "proc/sys/kernel/arch", "armv6l\n"),
			func(o *Options) { o.GOARCH, o.GOARM = "arm", "6" },
			"arch", OK, []string{"the CPU is ARMv6", "reports CPU architecture 7", "selects linux/arm/v6 images"}, true},
		{"32-bit userland on a 64-bit kernel", base().with("proc/cpuinfo", string(pi4)),
			func(o *Options) { o.GOARCH, o.GOARM = "arm", "7" },
			"userland", OK, []string{"32-bit edgerun (linux/arm/v8) on a 64-bit kernel (aarch64)", "arm64 edgerun"}, true},
		{"no cpu architecture line: the GOARM images resolve to", base().with("proc/cpuinfo", "processor\t: 0\n", "proc/sys/kernel/arch", "armv7l\n"),
			func(o *Options) { o.GOARCH, o.GOARM = "arm", "6" },
			"arch", OK, []string{"linux/arm/v6 (edgerun built for GOARM=6, kernel armv7l"}, true},
		{"little space", base(), func(o *Options) {
			o.Statfs = func(string) (uint64, uint64, string, error) { return 500 << 20, 100000, "ext4", nil }
		}, "space-root", Warn, []string{"500MiB free", "image prune"}, true},
		{"no space", base(), func(o *Options) {
			o.Statfs = func(string) (uint64, uint64, string, error) { return 10 << 30, 100, "ext4", nil }
		}, "space-root", Fail, []string{"100 inodes free", "too little"}, false},
		{"a small state tmpfs is enough", base(), func(o *Options) {
			o.Statfs = func(string) (uint64, uint64, string, error) { return 200 << 20, 5000, "tmpfs", nil }
		}, "space-state", OK, []string{"200MiB free"}, true},
		{"overlay refused", base(), func(o *Options) {
			o.Statfs = func(string) (uint64, uint64, string, error) { return 10 << 30, 1e6, "overlayfs", nil }
			o.ProbeOverlay = func(string, bool) error { return errors.New("mount overlay: invalid argument") }
		}, "overlay", Warn, []string{"(overlayfs)", "invalid argument", "full copy", "ext4"}, true},
		{"overlay refused in a user namespace", base(), func(o *Options) {
			o.ProbeOverlay = func(_ string, userns bool) error {
				if userns {
					return errors.New("operation not permitted")
				}
				return nil
			}
		}, "overlay-userns", Warn, []string{"inside a user namespace", "operation not permitted", "5.11"}, true},
	})
}

// hostCase is one check of a report on a fake host.
type hostCase struct {
	name   string
	host   host
	opts   func(*Options)
	check  string
	status Status
	want   []string // substrings of detail + fix
	ok     bool     // the report's verdict
}

// runHostCases runs doctor on each case's host and holds the named check
// to the case; every check that is not ok must come with a fix.
func runHostCases(t *testing.T, tests []hostCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := options(tt.host.write(t))
			if tt.opts != nil {
				tt.opts(&o)
			}
			r := Run(o)
			c := find(t, r, tt.check)
			if c.Status != tt.status {
				t.Errorf("%s: status %s, want %s (%s)", tt.check, c.Status, tt.status, c.Detail)
			}
			text := c.Detail + " fix: " + c.Fix
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("%s: %q lacks %q", tt.check, text, w)
				}
			}
			if c.Status != OK && c.Fix == "" {
				t.Errorf("%s: %s without a fix", tt.check, c.Status)
			}
			if r.OK != tt.ok {
				t.Errorf("report OK = %v, want %v", r.OK, tt.ok)
			}
		})
	}
}

func TestWriteTextOneLinePerCheckWithFixBelow(t *testing.T) {
	r := Report{OK: false, Checks: []Check{
		{Name: "cgroups", Status: OK, Detail: "cgroup v2"},
		{Name: "memory", Status: Warn, Detail: "memory off", Fix: "add cgroup_enable=memory"},
		{Name: "seccomp", Status: Fail, Detail: "no seccomp", Fix: "new kernel"},
		{Name: "firewall", Status: Warn, Detail: "forward drop", Fix: "run these", Commands: []string{"nft a", "nft b"}},
	}}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "ok    cgroups        cgroup v2\n" +
		"warn  memory         memory off\n" +
		"                     fix: add cgroup_enable=memory\n" +
		"fail  seccomp        no seccomp\n" +
		"                     fix: new kernel\n" +
		"warn  firewall       forward drop\n" +
		"                     fix: run these\n" +
		"                       nft a\n" +
		"                       nft b\n" +
		"edgerun cannot run containers on this host: fix the checks marked fail\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestWriteJSONRoundTrips(t *testing.T) {
	r := Run(options(base().write(t)))
	var b bytes.Buffer
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.OK != r.OK || !reflect.DeepEqual(back.Checks, r.Checks) {
		t.Errorf("JSON round trip changed the report: %+v vs %+v", back, r)
	}
}
