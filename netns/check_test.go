package netns

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func findingKinds(found []Finding) []string {
	var out []string
	for _, f := range found {
		out = append(out, f.Kind)
	}
	slices.Sort(out)
	return out
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCheckFindsLeasesAndMountsOfGoneContainers(t *testing.T) {
	n := leaseNetwork(t, "10.1.2.0/24")
	live, dead := strings.Repeat("a", 64), strings.Repeat("b", 64)
	leases := n.leaseDir("br0")
	writeTestFile(t, filepath.Join(leases, "10.1.2.2"), live+"\n")
	writeTestFile(t, filepath.Join(leases, "10.1.2.3"), dead+"\n")
	writeTestFile(t, filepath.Join(leases, "10.1.2.4"), "../../etc\n")
	writeTestFile(t, filepath.Join(leases, "10.1.2.5"), "") // a power cut: counts as free
	writeTestFile(t, filepath.Join(n.portDir(), "tcp-8080-any"), dead+"\n")
	writeTestFile(t, filepath.Join(n.portDir(), "tcp-8081-any"), live+"\n")
	writeTestFile(t, n.nsPath(dead), "")
	writeTestFile(t, n.nsPath(live), "")
	found := n.Check(CheckOptions{Alive: func(id string) bool { return id == live }})
	want := []string{findLeaseInvalid, findLeaseStale, findLeaseStale, findNetnsStale}
	if got := findingKinds(found); !slices.Equal(got, want) {
		t.Fatalf("findings %q, want %q: %+v", got, want, found)
	}
	for _, f := range found {
		if f.Repaired {
			t.Errorf("%s repaired without Repair", f.Where)
		}
		if f.Kind != findLeaseInvalid && !strings.Contains(f.Problem, dead[:12]) {
			t.Errorf("%s: the problem %q does not name the gone container", f.Where, f.Problem)
		}
		if _, err := os.Stat(f.Where); err != nil {
			t.Errorf("a check without Repair changed %s: %v", f.Where, err)
		}
	}
	if found := n.Check(CheckOptions{}); len(found) != 1 || found[0].Kind != findLeaseInvalid {
		t.Errorf("with every container alive: %+v, want only the invalid lease", found)
	}
}

// TestCheckRepairTearsDownOnlyThisRootsLeftovers: a container that is gone
// left its leases, namespace, veth and DNAT rule; check finds each and the
// repair removes them, and leaves a live container's alone, and another
// root's gone container too (its veth and rule are on its own bridge).
func TestCheckRepairTearsDownOnlyThisRootsLeftovers(t *testing.T) {
	n := testNetwork(t, 24)
	other := testNetwork(t, 24)
	live := setup(t, n, SetupOptions{Ports: []PortMapping{{ContainerPort: 80, Proto: "tcp"}}})
	liveID := strings.TrimPrefix(aliasOf(t, live.HostVeth), vethAliasPrefix)
	dead, foreign := newID(t), newID(t)
	for _, s := range []struct {
		n  *Network
		id string
	}{{n, dead}, {other, foreign}} {
		if _, err := s.n.Setup(context.Background(), SetupOptions{ID: s.id, Ports: []PortMapping{{ContainerPort: 80, Proto: "tcp"}}}); err != nil {
			t.Fatal(err)
		}
	}
	defer func() { _ = other.Teardown(foreign, other.bridge) }()
	alive := func(id string) bool { return id == liveID }
	found := n.Check(CheckOptions{Alive: alive})
	want := []string{findLeaseStale, findLeaseStale, findNetnsStale, findRuleOrphan, findVethOrphan}
	if got := findingKinds(found); !slices.Equal(got, want) {
		t.Fatalf("findings %q, want %q: %+v", got, want, found)
	}
	for _, f := range found {
		if !strings.Contains(f.Problem, dead[:12]) {
			t.Errorf("%s: %q is not about the gone container %.12s", f.Where, f.Problem, dead)
		}
	}
	for _, f := range n.Check(CheckOptions{Alive: alive, Repair: true}) {
		if !f.Repaired {
			t.Errorf("%s %s not repaired: %v", f.Kind, f.Where, f.Err)
		}
	}
	if found := n.Check(CheckOptions{Alive: alive}); len(found) != 0 {
		t.Errorf("after the repair: %+v", found)
	}
	if aliasOf(t, live.HostVeth) == "" || len(portRules(t, n)) != 1 {
		t.Errorf("the live container lost its veth or its rule (%d rules)", len(portRules(t, n)))
	}
	if aliasOf(t, vethName(foreign, 0)) == "" || len(portRules(t, other)) != 1 {
		t.Errorf("another root's container lost its veth or rule")
	}
}

// aliasOf is the alias of a host link, "" when it does not exist.
func aliasOf(t *testing.T, name string) string {
	t.Helper()
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		return ""
	}
	return l.Attrs().Alias
}
