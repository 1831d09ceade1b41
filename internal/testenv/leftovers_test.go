package testenv

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeHost is a Host whose mount table is the given lines (%s in them is
// replaced by dir) and whose interfaces live under dir/class-net.
func fakeHost(t *testing.T, dir string, lines ...string) Host {
	t.Helper()
	mi := filepath.Join(dir, "mountinfo")
	text := strings.ReplaceAll(strings.Join(lines, "\n")+"\n", "%s", dir)
	if err := os.WriteFile(mi, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return Host{Mountinfo: mi, ClassNet: filepath.Join(dir, "class-net")}
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

const rootMount = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw"

func TestMountsFindsWhatInvolvesTheDirectory(t *testing.T) {
	const dir = "/tmp/TestX/001"
	cases := []struct {
		name, line string
		want       string // the mount point found, "" for none
	}{
		{"at the directory", "40 22 0:50 / /tmp/TestX/001 rw - tmpfs tmpfs rw", "/tmp/TestX/001"},
		{"below it", "41 22 0:51 / /tmp/TestX/001/root/containers/c/rootfs rw - overlay overlay rw,lowerdir=/l", "/tmp/TestX/001/root/containers/c/rootfs"},
		{"a netns file below it", "42 22 0:4 net:[4026532] /tmp/TestX/001/state/netns/c rw - nsfs nsfs rw", "/tmp/TestX/001/state/netns/c"},
		{"an overlay elsewhere with its upper dir there", "43 22 0:52 / /mnt/x rw - overlay overlay rw,lowerdir=/a,upperdir=/tmp/TestX/001/upper,workdir=/w", "/mnt/x"},
		{"an overlay elsewhere with a lower dir there", "44 22 0:53 / /mnt/y rw - overlay overlay rw,lowerdir=/a:/tmp/TestX/001/l:/b,upperdir=/u", "/mnt/y"},
		{"a bind mount of it elsewhere", "45 22 8:1 /tmp/TestX/001/v /mnt/z rw - ext4 /dev/sda1 rw", "/mnt/z"},
		{"a sibling sharing the prefix", "46 22 0:54 / /tmp/TestX/0012 rw - tmpfs tmpfs rw", ""},
		{"the same path under another directory", "47 22 0:55 / /var/tmp/TestX/001 rw - tmpfs tmpfs rw", ""},
		{"its parent", "48 22 0:56 / /tmp/TestX rw - tmpfs tmpfs rw", ""},
		{"the root", rootMount, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := fakeHost(t, t.TempDir(), rootMount, tc.line)
			got, err := h.Mounts(dir)
			if err != nil {
				t.Fatal(err)
			}
			var points []string
			for _, m := range got {
				points = append(points, m.Point)
			}
			var want []string
			if tc.want != "" {
				want = []string{tc.want}
			}
			if !slices.Equal(points, want) {
				t.Errorf("Mounts(%s) = %q, want %q", dir, points, want)
			}
			if len(got) == 1 && got[0].Line != tc.line {
				t.Errorf("line %q, want %q", got[0].Line, tc.line)
			}
		})
	}
}

func TestMountsUnescapesAndSortsOutermostFirst(t *testing.T) {
	h := fakeHost(t, t.TempDir(), rootMount,
		`50 22 0:60 / /tmp/a\040b/x/y rw - tmpfs tmpfs rw`,
		`51 22 0:61 / /tmp/a\040b/x rw - tmpfs tmpfs rw`,
		`52 22 0:62 / /tmp/a\040bc rw - tmpfs tmpfs rw`)
	got, err := h.Mounts("/tmp/a b")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Point != "/tmp/a b/x" || got[1].Point != "/tmp/a b/x/y" {
		t.Errorf("Mounts = %+v, want /tmp/a b/x then /tmp/a b/x/y", got)
	}
}

func TestMountsRefusesARelativeDirectoryAndAnEmptyTable(t *testing.T) {
	dir := t.TempDir()
	if _, err := fakeHost(t, dir, rootMount).Mounts("rel"); err == nil {
		t.Error("a relative directory was accepted")
	}
	if _, err := fakeHost(t, dir, "").Mounts("/tmp"); err == nil {
		t.Error("an empty mount table was read as no mounts")
	}
	if _, err := (Host{Mountinfo: filepath.Join(dir, "missing")}).Mounts("/tmp"); err == nil {
		t.Error("a missing mount table was read as no mounts")
	}
}

// Cgroup layouts, with %s/cg standing for /sys/fs/cgroup.
var (
	cgroupV2 = []string{"30 22 0:26 / %s/cg rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate"}
	cgroupV1 = []string{
		"31 22 0:27 / %s/cg rw - tmpfs tmpfs rw,mode=755",
		"32 31 0:28 / %s/cg/cpu,cpuacct rw shared:5 - cgroup cgroup rw,cpu,cpuacct",
		"33 31 0:29 / %s/cg/pids rw shared:6 - cgroup cgroup rw,pids",
		"34 31 0:30 / %s/cg/memory rw shared:7 - cgroup cgroup rw,memory",
		"35 31 0:31 / %s/cg/systemd rw shared:8 - cgroup cgroup rw,xattr,name=systemd",
	}
	// This machine's: v1 controllers with a cgroup2 tree at unified.
	cgroupHybrid = append(slices.Clone(cgroupV1), "36 31 0:32 / %s/cg/unified rw shared:9 - cgroup2 cgroup2 rw")
)

func TestCgroupsFindsAContainerInEveryLayout(t *testing.T) {
	const id, other = "c0ffee", "beef"
	cases := []struct {
		name   string
		table  []string
		left   []string // hierarchies (below cg) holding edgerun/<id>
		others []string // hierarchies holding edgerun/<other>
	}{
		{"v2", cgroupV2, []string{""}, nil},
		{"v1, every hierarchy", cgroupV1, []string{"cpu,cpuacct", "pids", "memory", "systemd"}, nil},
		{"v1, memory only", cgroupV1, []string{"memory"}, []string{"pids"}},
		{"hybrid, every hierarchy", cgroupHybrid, []string{"cpu,cpuacct", "pids", "memory", "systemd", "unified"}, nil},
		// The case a v1-only check (pids/edgerun/<id>) passes whatever happens.
		{"hybrid, only in the v2 tree", cgroupHybrid, []string{"unified"}, nil},
		{"v2, none left", cgroupV2, nil, []string{""}},
		{"hybrid, none left", cgroupHybrid, nil, []string{"pids", "unified"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			h := fakeHost(t, dir, append([]string{rootMount}, tc.table...)...)
			cg := filepath.Join(dir, "cg")
			var want []string
			for _, hier := range tc.left {
				want = append(want, filepath.Join(cg, hier, "edgerun", id))
				mkdirs(t, want[len(want)-1])
			}
			for _, hier := range tc.others {
				mkdirs(t, filepath.Join(cg, hier, "edgerun", other))
			}
			// v1's symlinks to a combined hierarchy are not mounts: found once.
			mkdirs(t, filepath.Join(cg, "cpu,cpuacct"))
			if err := os.Symlink("cpu,cpuacct", filepath.Join(cg, "cpu")); err != nil {
				t.Fatal(err)
			}
			got, err := h.Cgroups(id)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("Cgroups(%s) = %q, want %q", id, got, want)
			}
		})
	}
}

func TestCgroupsCountsAHierarchyMountedTwiceOnce(t *testing.T) {
	dir := t.TempDir()
	h := fakeHost(t, dir, rootMount, cgroupV2[0], "37 22 0:26 / %s/again rw - cgroup2 cgroup2 rw")
	mkdirs(t, filepath.Join(dir, "cg", "edgerun", "c1"), filepath.Join(dir, "again"))
	if got, err := h.Cgroups("c1"); err != nil || len(got) != 1 {
		t.Errorf("Cgroups = %q, %v; want the one directory", got, err)
	}
}

func TestCgroupsFailsWhenItCannotLook(t *testing.T) {
	dir := t.TempDir()
	if got, err := fakeHost(t, dir, rootMount).Cgroups("c1"); err == nil {
		t.Errorf("no cgroup file system mounted: Cgroups = %q, nil; want an error", got)
	}
	h := fakeHost(t, dir, rootMount, cgroupV2[0])
	mkdirs(t, filepath.Join(dir, "cg", "edgerun"))
	for _, id := range []string{"", ".", "..", "../edgerun", "a/b"} {
		if got, err := h.Cgroups(id); err == nil {
			t.Errorf("Cgroups(%q) = %q, nil; want an error", id, got)
		}
	}
}

func TestNetworkFindsEachKindOfLeftover(t *testing.T) {
	const bridge = "ertest0"
	cases := []struct {
		name  string
		leave func(t *testing.T, h Host, n Network) []string // makes the leftover, returns mount lines
		want  string                                         // a finding contains it, "" for none
	}{
		{"nothing", func(*testing.T, Host, Network) []string { return nil }, ""},
		{"a veth on the bridge", func(t *testing.T, h Host, n Network) []string {
			mkdirs(t, filepath.Join(h.ClassNet, bridge, "brif", "veth1234"))
			return nil
		}, "veths left on ertest0: veth1234"},
		{"a veth on another bridge", func(t *testing.T, h Host, n Network) []string {
			mkdirs(t, filepath.Join(h.ClassNet, "edgerun0", "brif", "veth1234"))
			return nil
		}, ""},
		{"an address lease", func(t *testing.T, h Host, n Network) []string {
			mkdirs(t, filepath.Join(n.Root, "network", bridge, "leases", "10.199.0.2"))
			return nil
		}, "leases left: " + "%s/root/network/ertest0/leases/10.199.0.2"},
		{"a lease of another bridge of the root", func(t *testing.T, h Host, n Network) []string {
			mkdirs(t, filepath.Join(n.Root, "network", "edgerun0", "leases", "10.88.0.2"))
			return nil
		}, "leases left: " + "%s/root/network/edgerun0/leases/10.88.0.2"},
		{"a port lease", func(t *testing.T, h Host, n Network) []string {
			mkdirs(t, filepath.Join(n.Root, "network", "ports", "tcp-8080-any"))
			return nil
		}, "network/ports/tcp-8080-any"},
		{"a bridge's last address (not a lease)", func(t *testing.T, h Host, n Network) []string {
			mkdirs(t, filepath.Join(n.Root, "network", bridge, "last"))
			return nil
		}, ""},
		{"a netns file", func(t *testing.T, h Host, n Network) []string {
			mkdirs(t, filepath.Join(n.State, "netns", "c1"))
			return nil
		}, "netns mount files left in %s/state/netns: c1"},
		{"a netns mount", func(t *testing.T, h Host, n Network) []string {
			return []string{"60 22 0:4 net:[4026532] %s/state/netns/c1 rw - nsfs nsfs rw"}
		}, "mounts left under %s/state:\n60 22 0:4 net:[4026532] %s/state/netns/c1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			n := Network{Bridge: bridge, Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state")}
			h := fakeHost(t, dir, rootMount)
			mkdirs(t, filepath.Join(h.ClassNet, bridge, "brif"), n.Root, n.State)
			if lines := tc.leave(t, h, n); lines != nil {
				h = fakeHost(t, dir, append([]string{rootMount}, lines...)...)
			}
			got, err := h.Network(n)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tc.want, "%s", dir)
			switch {
			case want == "" && len(got) > 0:
				t.Errorf("findings %q, want none", got)
			case want != "" && (len(got) != 1 || !strings.Contains(got[0], want)):
				t.Errorf("findings %q, want one containing %q", got, want)
			}
		})
	}
}

func TestNetworkRefusesAnIncompleteNetwork(t *testing.T) {
	h := fakeHost(t, t.TempDir(), rootMount)
	for _, n := range []Network{{Root: "/r", State: "/s"}, {Bridge: "b", Root: "r", State: "/s"}, {Bridge: "b", Root: "/r"}} {
		if _, err := h.Network(n); err == nil {
			t.Errorf("Network(%+v) accepted", n)
		}
	}
}
