package netns

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

// testStore is a store of its own root, whose default bridge is
// 10.199.X.0/24, and whose networks get subnets of 10.198.Y.0/24 from
// sub(i). At the end every network it still has is removed, and nothing
// of them may be left.
func testStore(t *testing.T) (s *Store, sub func(i int) string) {
	t.Helper()
	testenv.RequireRoot(t, "create bridges and nftables tables")
	dir := t.TempDir()
	s = OpenStore(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"),
		Bridge: "ert" + randomHex(t, 3), Subnet: testenv.FreeSubnet(t, 199).String()})
	t.Cleanup(func() {
		defs, _ := s.List()
		for _, d := range defs {
			if _, err := s.Remove(context.Background(), d.Name, func(string) bool { return false }); err != nil {
				t.Errorf("remove network %s: %v", d.Name, err)
			}
			if link(d.Bridge) != nil {
				t.Errorf("bridge %s of network %s is left", d.Bridge, d.Name)
			}
		}
	})
	got := map[int]string{} // sub(i) is the same subnet each time it is asked
	return s, func(i int) string {
		if _, ok := got[i]; !ok {
			got[i] = testenv.FreeSubnet(t, 198).String()
		}
		return got[i]
	}
}

func link(name string) netlink.Link {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil
	}
	return l
}

func TestCreateMakesTheBridgeAndDefinitionAndRefusesBadInput(t *testing.T) {
	s, sub := testStore(t)
	ctx := context.Background()
	d, err := s.Create(ctx, CreateOptions{Name: "front", Subnet: sub(0), Gateway: strings.TrimSuffix(sub(0), "0/24") + "254",
		Options: map[string]string{"mtu": "1280"}, Labels: map[string]string{"site": "lab"}})
	if err != nil {
		t.Fatal(err)
	}
	l := link(d.Bridge)
	if l == nil || l.Attrs().MTU != 1280 || l.Attrs().Group != bridgeGroup || !strings.HasSuffix(l.Attrs().Alias, " network=front") {
		t.Fatalf("bridge %s of network front: %+v", d.Bridge, l)
	}
	if got, err := s.Get("front"); err != nil || got.ID != d.ID || got.Subnet4().Gateway.String() != strings.TrimSuffix(sub(0), "0/24")+"254" || got.Labels["site"] != "lab" {
		t.Errorf("Get(front) = %+v, %v", got, err)
	}
	if got, err := s.Get(d.ID[:5]); err != nil || got.Name != "front" {
		t.Errorf("Get by an ID prefix: %+v, %v", got, err)
	}
	bad := []struct {
		o       CreateOptions
		is      error
		message string
	}{
		{CreateOptions{Name: "front", Subnet: sub(1)}, ErrNetworkExists, "network front exists already"},
		{CreateOptions{Name: "f2", Subnet: strings.TrimSuffix(sub(0), "/24") + "/25"}, ErrOverlap, "of network front"},
		{CreateOptions{Name: "f3", Subnet: s.cfg.Subnet}, ErrOverlap, "of the default bridge network"},
		{CreateOptions{Name: "f4", Subnet: sub(2), Gateway: "10.1.2.3"}, ErrInvalid, "is not a host address of the subnet"},
		{CreateOptions{Name: "f5", Gateway: "10.1.2.3"}, ErrInvalid, "--gateway needs --subnet"},
		{CreateOptions{Name: "no/pe", Subnet: sub(3)}, ErrInvalid, "network name"},
		{CreateOptions{Name: "bridge", Subnet: sub(3)}, ErrInvalid, "predefined"},
		{CreateOptions{Name: "v6", IPv6: true, Subnet: sub(4), Subnet6: "fd00:e2e::/121"}, ErrInvalid, "IPv6 subnet fd00:e2e::/121 is too small: use a prefix of /120 or shorter"},
		{CreateOptions{Name: "v6b", Subnet: sub(4), Subnet6: "fd00:e2e::/64"}, ErrInvalid, "an IPv6 --subnet or --gateway needs --ipv6"},
		{CreateOptions{Name: "v6c", IPv6: true, Subnet: sub(4), Subnet6: "fd00:e2e::/64", Gateway6: "fd00:e2f::1"}, ErrInvalid, "is not a host address of the IPv6 subnet"},
		{CreateOptions{Name: "f6", Subnet: sub(4), Options: map[string]string{"bridge": d.Bridge}}, ErrBridgeTaken, "network front's"},
		{CreateOptions{Name: "f7", Subnet: sub(4), Options: map[string]string{"bridge": s.cfg.Bridge}}, ErrBridgeTaken, "the default bridge network's"},
		{CreateOptions{Name: "f8", Subnet: sub(4), Options: map[string]string{"bridge": "lo"}}, ErrBridgeTaken, "lo is a device interface"},
		{CreateOptions{Name: "f9", Subnet: "8.8.8.0/24"}, ErrInvalid, "not a private range"},
	}
	for _, b := range bad {
		_, err := s.Create(ctx, b.o)
		if !errors.Is(err, b.is) || !strings.Contains(err.Error(), b.message) {
			t.Errorf("create %+v: %v, want %v saying %q", b.o, err, b.is, b.message)
		}
	}
	if defs, _ := s.List(); len(defs) != 1 {
		t.Errorf("after the refusals: %d networks, want front alone", len(defs))
	}
	if tmps, _ := filepath.Glob(filepath.Join(s.dir, ".*")); len(tmps) > 0 {
		t.Errorf("temp files left: %v", tmps)
	}
}

func TestCreateRefusesASubnetOfAHostRoute(t *testing.T) {
	s, sub := testStore(t)
	// A veth with an address stands for a LAN of the host.
	name := "erd" + randomHex(t, 3)
	d := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: name + "p"}
	if err := netlink.LinkAdd(d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(d) })
	_, lan, _ := net.ParseCIDR(sub(0))
	lan.IP[3] = 1
	if err := netlink.AddrAdd(d, &netlink.Addr{IPNet: lan}); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(d); err != nil {
		t.Fatal(err)
	}
	_, err := s.Create(context.Background(), CreateOptions{Name: "lan", Subnet: sub(0)})
	if !errors.Is(err, ErrOverlap) || !strings.Contains(err.Error(), "on "+name) {
		t.Fatalf("a subnet of a host route: %v", err)
	}
	if _, err := os.Stat(s.path("lan")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the definition of a refused network is left: %v", err)
	}
}

func TestCreateWithoutSubnetTakesTheFirstFreeOfThePool(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	a, err := s.Create(ctx, CreateOptions{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Create(ctx, CreateOptions{Name: "b"})
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := a.Subnet4().Subnet, b.Subnet4().Subnet
	for _, p := range []string{pa.String(), pb.String()} {
		if !strings.HasPrefix(p, "10.9") || !strings.HasSuffix(p, ".0/24") || p < "10.91." {
			t.Errorf("picked %s, want a /24 of 10.91.0.0-10.99.255.0", p)
		}
	}
	if pa.Overlaps(pb) {
		t.Errorf("two networks got %s and %s", pa, pb)
	}
}

func TestRemoveIsRefusedInUseAndTakesEverything(t *testing.T) {
	s, sub := testStore(t)
	ctx := context.Background()
	d, err := s.Create(ctx, CreateOptions{Name: "svc", Subnet: sub(0)})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Network(d)
	if err != nil {
		t.Fatal(err)
	}
	id := newID(t)
	a, err := n.Setup(ctx, SetupOptions{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	var inUse *InUseError
	if _, err := s.Remove(ctx, "svc", func(string) bool { return true }); !errors.As(err, &inUse) || inUse.IDs[0] != id || !errors.Is(err, ErrNetworkInUse) {
		t.Fatalf("remove while a container is on it: %v", err)
	}
	if err := n.Teardown(id, a.Bridge); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(ctx, "svc", func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if link(d.Bridge) != nil {
		t.Error("the bridge is left")
	}
	if _, err := os.Stat(filepath.Join(n.root, d.Bridge)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lease directory is left: %v", err)
	}
	c, _ := nftConn()
	if tables, _ := c.ListTablesOfFamily(unix.NFPROTO_IPV4); len(tables) > 0 {
		for _, tb := range tables {
			if tb.Name == tableName(d.Bridge) {
				t.Errorf("table %s is left", tb.Name)
			}
		}
	}
	if _, err := s.Get("svc"); !errors.Is(err, ErrNoSuchNetwork) {
		t.Errorf("Get after remove: %v", err)
	}
}

// A network removed (and made again) after a container planned to join
// it is refused at setup, not made again; a bridge found missing is made
// again (a reboot, or a create killed between definition and bridge).
func TestSetupChecksTheDefinitionAndRemakesAMissingBridge(t *testing.T) {
	s, sub := testStore(t)
	ctx := context.Background()
	d, err := s.Create(ctx, CreateOptions{Name: "gone", Subnet: sub(0)})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := s.Network(d)
	if err := netlink.LinkDel(link(d.Bridge)); err != nil {
		t.Fatal(err)
	}
	id := newID(t)
	a, err := n.Setup(ctx, SetupOptions{ID: id})
	if err != nil || link(d.Bridge) == nil {
		t.Fatalf("setup on a network whose bridge went: %v", err)
	}
	if err := n.Teardown(id, a.Bridge); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(ctx, "gone", func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, CreateOptions{Name: "gone", Subnet: sub(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Setup(ctx, SetupOptions{ID: newID(t)}); !errors.Is(err, ErrNoSuchNetwork) {
		t.Fatalf("setup on a network removed and made again: %v", err)
	}
	if link(d.Bridge) != nil {
		t.Error("the removed network's bridge was made again")
	}
}

func TestCheckFindsDamagedDefinitionsAndOrphanBridges(t *testing.T) {
	s, sub := testStore(t)
	ctx := context.Background()
	d, err := s.Create(ctx, CreateOptions{Name: "lost", Subnet: sub(0)})
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, s.path("torn"), `{"name": "torn", "id": `)
	// The definition of "lost" removed by hand: its bridge is left.
	if err := os.Remove(s.path("lost")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // the store no longer knows it: also when the test fails early
		orphan := &Network{root: s.base().root, bridge: d.Bridge, name: "lost"}
		_ = orphan.RemoveBridge(func(string) bool { return false })
	})
	n := s.base()
	q := filepath.Join(t.TempDir(), "quarantine")
	found := n.Check(CheckOptions{})
	if kinds := strings.Join(findingKinds(found), " "); kinds != findBridgeOrphan+" "+findDefDamaged {
		t.Fatalf("found %q", kinds)
	}
	n.Check(CheckOptions{Repair: true, Quarantine: q})
	if link(d.Bridge) != nil {
		t.Error("the orphan bridge is left")
	}
	if _, err := os.Stat(filepath.Join(q, "torn.json")); err != nil {
		t.Errorf("the damaged definition is not in quarantine: %v", err)
	}
	if found := n.Check(CheckOptions{}); len(found) > 0 {
		t.Errorf("after repair: %+v", found)
	}
}
