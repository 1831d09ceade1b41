package testenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
)

// Host is where the leftover checks read the kernel's state. Live is this
// machine; the checks' own tests point it at fake trees.
type Host struct {
	// Mountinfo is the mount table of the calling thread. The cgroup
	// check finds the cgroup file systems in it too.
	Mountinfo string
	// ClassNet holds the network interfaces (a bridge's ports in BRIDGE/brif).
	ClassNet string
	// Delegated is the cgroup v2 subtree delegated to the rootless test
	// user (Delegation), "" when none: its containers' cgroups are at
	// Delegated/edgerun/<id> of the v2 tree.
	Delegated string
}

// Live is the host the tests run on. Its mount table is the calling
// thread's (thread-self), not the thread group leader's (self):
// libcontainer joins each new container's mount namespace on a locked
// thread it lets die, and when that thread was the main one Go parks it
// there, so /proc/self can show a container's mounts.
var Live = Host{Mountinfo: "/proc/thread-self/mountinfo", ClassNet: "/sys/class/net", Delegated: Delegation()}

// Checked is where the leftover checks look: Live, or in the rootless tier
// the mount namespace of the user's session (its holder's mount table),
// where rootless edgerun mounts. The session's network namespace cannot
// be read from outside it: ClassNet is empty and the veth and DNAT checks
// are left to edgerun check (e2e runs it).
func Checked() Host {
	if !Rootless() {
		return Live
	}
	if pid := sessionHolder(); pid > 0 {
		return Host{Mountinfo: "/proc/" + strconv.Itoa(pid) + "/mountinfo", Delegated: Live.Delegated}
	}
	return Live
}

// sessionHolder is the PID of the rootless session's holder process
// (rootless.Session's record), 0 when there is none.
func sessionHolder() int {
	run := os.Getenv("XDG_RUNTIME_DIR")
	if run == "" {
		run = filepath.Join(os.TempDir(), "edgerun-"+strconv.Itoa(os.Geteuid()))
	}
	b, err := os.ReadFile(filepath.Join(run, "edgerun-session", "session.json"))
	if err != nil {
		return 0
	}
	var rec struct {
		Pid int `json:"pid"`
	}
	if json.Unmarshal(b, &rec) != nil {
		return 0
	}
	return rec.Pid
}

// Mount is one mount of a mount table.
type Mount struct {
	Point string // where it is mounted
	Line  string // its line of the mount table, as the kernel wrote it
}

func (m Mount) String() string { return m.Line }

// Mounts returns the mounts that involve dir, sorted by mount point (so
// outermost first): those at or below dir, and those elsewhere whose line
// names a path at or below it (a bind mount's root, an overlay's upperdir).
func (h Host) Mounts(dir string) ([]Mount, error) {
	if !filepath.IsAbs(dir) {
		return nil, fmt.Errorf("mounts under %q: not an absolute path", dir)
	}
	table, err := h.mountTable()
	if err != nil {
		return nil, err
	}
	dir = filepath.Clean(dir)
	var found []Mount
	for _, m := range table {
		if m.point == dir || strings.HasPrefix(m.point, dir+"/") || mentions(m.line, escapeMount(dir)) {
			found = append(found, Mount{Point: m.point, Line: m.line})
		}
	}
	slices.SortFunc(found, func(a, b Mount) int { return strings.Compare(a.Point, b.Point) })
	return found, nil
}

// Cgroups returns the cgroup directories left of the given containers, in
// every cgroup file system mounted (CgroupRoots). edgerun puts a container
// at /edgerun/<id> of every hierarchy (cgroups.Path), rootless edgerun at
// Delegated/edgerun/<id> of the v2 tree. No cgroup file system at all is
// an error: a check that cannot look must not pass.
func (h Host) Cgroups(ids ...string) ([]string, error) {
	for _, id := range ids {
		if id == "" || id == "." || id == ".." || strings.Contains(id, "/") {
			return nil, fmt.Errorf("cgroups of container %q: not a container ID", id)
		}
	}
	var found []string
	for _, id := range ids {
		dirs, err := h.CgroupsAt(filepath.Join("edgerun", id))
		if err != nil {
			return nil, err
		}
		found = append(found, dirs...)
	}
	return found, nil
}

// CgroupsAt returns the directories that exist at the cgroup path rel
// (relative to a hierarchy's root, like an OCI spec's cgroupsPath) in
// every cgroup file system mounted: what an engine or runtime left of the
// cgroups it was told to use.
func (h Host) CgroupsAt(rel string) ([]string, error) {
	rel = filepath.Clean("/" + rel)
	if rel == "/" {
		return nil, fmt.Errorf("cgroups at %q: not below a hierarchy's root", rel)
	}
	roots, err := h.CgroupRoots()
	if err != nil {
		return nil, err
	}
	var found []string
	for _, root := range roots {
		p := filepath.Join(root, rel)
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			found = append(found, p)
		}
	}
	return found, nil
}

// CgroupRoots returns where the cgroup file systems are mounted, each
// once: every v1 hierarchy (named ones like name=systemd included), the v2
// tree of a pure v2 host, and the v2 tree a hybrid host mounts beside its
// v1 hierarchies (/sys/fs/cgroup/unified); plus Delegated below the v2
// tree in the rootless tier.
func (h Host) CgroupRoots() ([]string, error) {
	table, err := h.mountTable()
	if err != nil {
		return nil, err
	}
	var roots []string
	seen := map[string]bool{} // by device: a hierarchy mounted twice is one
	for _, m := range table {
		if (m.fstype == "cgroup" || m.fstype == "cgroup2") && !seen[m.dev] {
			seen[m.dev] = true
			roots = append(roots, m.point)
			if m.fstype == "cgroup2" && h.Delegated != "" {
				roots = append(roots, filepath.Join(m.point, h.Delegated))
			}
		}
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("no cgroup file system in %s: cannot check for cgroups left", h.Mountinfo)
	}
	return roots, nil
}

// Network names what an edgerun root's bridge networking puts on the host.
type Network struct {
	Bridge string // the bridge (--bridge)
	Root   string // edgerun's persistent root (--root): leases in Root/network
	State  string // edgerun's volatile root (--state): netns mounts in State/netns
}

// Network returns what is left of the containers of n, one finding per
// kind: veths on the bridge, address and port leases, netns mount files,
// and mounts under the volatile root. PortRules covers the nftables rules.
func (h Host) Network(n Network) ([]string, error) {
	if n.Bridge == "" || !filepath.IsAbs(n.Root) || !filepath.IsAbs(n.State) {
		return nil, fmt.Errorf("network leftovers of %+v: need a bridge and absolute roots", n)
	}
	var left []string
	if h.ClassNet != "" {
		brif := filepath.Join(h.ClassNet, n.Bridge, "brif")
		veths, err := entries(brif)
		if err != nil {
			return nil, err
		}
		if len(veths) > 0 {
			left = append(left, fmt.Sprintf("veths left on %s: %s", n.Bridge, strings.Join(veths, ", ")))
		}
	}
	for _, pat := range []string{"network/*/leases/*", "network/ports/*"} {
		if leases, _ := filepath.Glob(filepath.Join(n.Root, pat)); len(leases) > 0 {
			left = append(left, "leases left: "+strings.Join(leases, ", "))
		}
	}
	netnsDir := filepath.Join(n.State, "netns")
	files, err := entries(netnsDir)
	if err != nil {
		return nil, err
	}
	if len(files) > 0 {
		left = append(left, fmt.Sprintf("netns mount files left in %s: %s", netnsDir, strings.Join(files, ", ")))
	}
	mounts, err := h.Mounts(n.State)
	if err != nil {
		return nil, err
	}
	if len(mounts) > 0 {
		left = append(left, fmt.Sprintf("mounts left under %s:\n%s", n.State, mountLines(mounts)))
	}
	return left, nil
}

// PortRules returns the rules left in the chain of published ports (chain
// "ports" of tables ip and ip6 edgerun_BRIDGE: one DNAT rule per published
// port and family), by their comments (edgerun:<id>). A missing table or
// chain holds none.
func PortRules(bridge string) ([]string, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	var left []string
	// The ip table, and the ip6 one of a dual-stack network.
	for _, fam := range []nftables.TableFamily{nftables.TableFamilyIPv4, nftables.TableFamilyIPv6} {
		tb := &nftables.Table{Name: "edgerun_" + bridge, Family: fam}
		rules, err := c.GetRules(tb, &nftables.Chain{Name: "ports", Table: tb})
		if errors.Is(err, syscall.ENOENT) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("rules of chain ports in table %s: %w", tb.Name, err)
		}
		for i, r := range rules {
			s, ok := userdata.GetString(r.UserData, userdata.TypeComment)
			if s = strings.TrimRight(s, "\x00"); !ok || s == "" {
				s = fmt.Sprintf("rule %d (no comment)", i+1)
			}
			left = append(left, s)
		}
	}
	return left, nil
}

// AssertNoMountsUnder fails the test when a mount involving dir is left
// on the host (see Host.Mounts).
func AssertNoMountsUnder(t testing.TB, dir string) {
	t.Helper()
	mounts, err := Checked().Mounts(dir)
	if err != nil {
		t.Errorf("check for mounts left: %v", err)
	}
	if len(mounts) > 0 {
		t.Errorf("mounts left under %s:\n%s", dir, mountLines(mounts))
	}
}

// AssertNoCgroups fails the test when a cgroup of one of the containers
// is left in any cgroup hierarchy (see Host.Cgroups).
func AssertNoCgroups(t testing.TB, ids ...string) {
	t.Helper()
	dirs, err := Live.Cgroups(ids...)
	if err != nil {
		t.Errorf("check for cgroups left: %v", err)
	}
	if len(dirs) > 0 {
		t.Errorf("cgroups left:\n%s", strings.Join(dirs, "\n"))
	}
}

// AssertNoNetwork fails the test when anything of n's containers is left:
// what Host.Network finds, and DNAT rules in n's table (PortRules).
func AssertNoNetwork(t testing.TB, n Network) {
	t.Helper()
	left, err := Checked().Network(n)
	if err != nil {
		t.Errorf("check for network leftovers: %v", err)
	}
	for _, l := range left {
		t.Error(l)
	}
	if Rootless() {
		return // the session's nftables are not readable from here
	}
	rules, err := PortRules(n.Bridge)
	if err != nil {
		t.Errorf("check for DNAT rules left: %v", err)
	}
	if len(rules) > 0 {
		t.Errorf("%d DNAT rules left in table edgerun_%s: %s", len(rules), n.Bridge, strings.Join(rules, ", "))
	}
}

func mountLines(mounts []Mount) string {
	lines := make([]string, len(mounts))
	for i, m := range mounts {
		lines[i] = m.Line
	}
	return strings.Join(lines, "\n")
}

// entries lists a directory's entries; none when it does not exist.
func entries(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, nil
}
