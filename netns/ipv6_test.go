package netns

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

func TestParseSubnet6RefusesWhatCannotBeANetwork(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"fd00:1:2:3::/64", ""},
		{"2001:db8::/48", ""},
		{"fd00::/120", ""},
		{"fd00::/121", "is too small: use a prefix of /120 or shorter"},
		{"fd00::/128", "is too small"},
		{"fd00::/12", "is too large"},
		{"fd00::1/64", "has host bits set: use fd00::/64"},
		{"fe80::/64", "is not a unicast range"},
		{"ff02::/64", "is not a unicast range"},
		{"::ffff:10.0.0.0/120", "use an IPv6 CIDR"},
		{"10.0.0.0/24", "use an IPv6 CIDR"},
		{"nonsense", "use an IPv6 CIDR"},
	} {
		_, err := ParseSubnet6(c.in)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrInvalid)) {
			t.Errorf("ParseSubnet6(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestULASubnetIsTheNetworkIDsGlobalID(t *testing.T) {
	p, err := ULASubnet("0123456789abcdef")
	if err != nil || p.String() != "fd01:2345:6789::/64" {
		t.Fatalf("ULASubnet = %v, %v; want fd01:2345:6789::/64", p, err)
	}
	if _, err := ULASubnet("zz"); err == nil {
		t.Error("a non-hex ID gave a subnet")
	}
}

func TestSplitByFamilyKeepsTheLastOfEach(t *testing.T) {
	v4, v6 := SplitByFamily([]string{"10.90.0.0/24", "fd00::/64", "10.91.0.0/24"})
	if v4 != "10.91.0.0/24" || v6 != "fd00::/64" {
		t.Errorf("split = %q, %q", v4, v6)
	}
	if v4, v6 := SplitByFamily([]string{"fd00::1", "junk"}); v4 != "junk" || v6 != "fd00::1" {
		t.Errorf("split of gateways = %q, %q", v4, v6)
	}
}

func dualNetwork(t *testing.T, subnet6 string) *Network {
	t.Helper()
	dir := t.TempDir()
	n, err := Open(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"), Bridge: "br0",
		Subnet: "10.1.9.0/24", Subnet6: subnet6})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLeaseIP6SkipsReservedAddressesAndReclaimsStaleLeases(t *testing.T) {
	n := dualNetwork(t, "fd00:6::/120") // ::0 subnet-router anycast, ::1 gateway, ::2-::ff containers
	live := map[string]bool{}
	alive := func(id string) bool { return live[id] }
	var got []netip.Addr
	for i := range 254 {
		id := strings.Repeat("0", 10) + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "0"
		live[id] = true
		a, err := n.leaseIP6(id, netip.Addr{}, alive, true)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if got[0].String() != "fd00:6::2" || got[253].String() != "fd00:6::ff" {
		t.Fatalf("leased %v ... %v, want fd00:6::2 to fd00:6::ff", got[0], got[253])
	}
	if _, err := n.leaseIP6("f000000000000", netip.Addr{}, alive, true); !errors.Is(err, ErrSubnetFull) {
		t.Fatalf("lease of a full subnet: %v, want ErrSubnetFull", err)
	}
	gone := strings.Repeat("0", 10) + "ac0" // holds fd00:6::4
	delete(live, gone)
	live["f000000000000"] = true
	if a, err := n.leaseIP6("f000000000000", netip.Addr{}, alive, true); err != nil || a.String() != "fd00:6::4" {
		t.Fatalf("lease after a container is gone: %v, %v; want its address fd00:6::4", a, err)
	}
	want := netip.MustParseAddr("fd00:6::4")
	if _, err := n.leaseIP6("e000000000000", want, alive, true); !errors.Is(err, ErrAddressInUse) || !strings.Contains(err.Error(), "--ip6 fd00:6::4 is held by container f00000000000") {
		t.Errorf("--ip6 of a held address: %v", err)
	}
	for _, bad := range []string{"fd00:6::", "fd00:6::1", "fd00:7::5"} {
		if _, err := n.leaseIP6("e000000000000", netip.MustParseAddr(bad), alive, true); !errors.Is(err, ErrInvalid) {
			t.Errorf("--ip6 %s: %v, want ErrInvalid", bad, err)
		}
	}
	if err := n.releaseLeases("f000000000000"); err != nil {
		t.Fatal(err)
	}
	if ls, _ := filepath.Glob(filepath.Join(n.leaseDir6("br0"), "fd00:6::4")); len(ls) != 0 {
		t.Error("releaseLeases kept an IPv6 lease")
	}
}

func TestLeaseIP6OnALargePrefixIsBounded(t *testing.T) {
	n := dualNetwork(t, "fd00:6::/64")
	a, err := n.leaseIP6("a000000000000", netip.Addr{}, func(string) bool { return true }, true)
	if err != nil || a.String() != "fd00:6::2" {
		t.Fatalf("first lease of a /64: %v, %v", a, err)
	}
}

func TestParseIP6(t *testing.T) {
	n := dualNetwork(t, "fd00:6::/64")
	if a, err := n.ParseIP6("fd00:6::99"); err != nil || a.String() != "fd00:6::99" {
		t.Errorf("ParseIP6 = %v, %v", a, err)
	}
	for _, c := range []struct{ in, want string }{
		{"fd00:7::1", "is not a host address of the IPv6 subnet fd00:6::/64"},
		{"fd00:6::1", "nor its gateway fd00:6::1"},
		{"10.1.9.5", "is not an IPv6 address"},
	} {
		if _, err := n.ParseIP6(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseIP6(%s) = %v, want %q", c.in, err, c.want)
		}
	}
	four := leaseNetwork(t, "10.1.3.0/24")
	if _, err := four.ParseIP6("fd00:6::5"); err == nil || !strings.Contains(err.Error(), "has no IPv6: create it with --ipv6") {
		t.Errorf("--ip6 on an IPv4-only network: %v", err)
	}
}

func TestIPv6RulesUseIPv6Offsets(t *testing.T) {
	n := dualNetwork(t, "fd00:6::/64")
	f := n.fam6()
	if f.table.Family != nftables.TableFamilyIPv6 || f.table.Name != "edgerun_br0" {
		t.Fatalf("ip6 table %+v", f.table)
	}
	src := matchSaddr(f.subnet)
	if p := src[0].(*expr.Payload); p.Offset != 8 || p.Len != 16 {
		t.Errorf("IPv6 source match reads %d bytes at %d, want 16 at 8", p.Len, p.Offset)
	}
	if m := src[1].(*expr.Bitwise).Mask; len(m) != 16 || m[7] != 0xff || m[8] != 0 {
		t.Errorf("the /64 mask %x", m)
	}
	e := dnatExprs(f, PortMapping{HostIP: netip.MustParseAddr("2001:db8::5"), HostPort: 8080, ContainerPort: 80, Proto: "tcp"}, netip.MustParseAddr("fd00:6::2"), true)
	if p := e[0].(*expr.Payload); p.Offset != 24 || p.Len != 16 {
		t.Errorf("IPv6 destination match reads %d bytes at %d, want 16 at 24", p.Len, p.Offset)
	}
	if nat := e[len(e)-1].(*expr.NAT); nat.Family != 10 { // NFPROTO_IPV6
		t.Errorf("DNAT family %d, want NFPROTO_IPV6", nat.Family)
	}
	if c := n.baseCounts(f); c["postrouting"] != 2 {
		t.Errorf("ip6 postrouting base rules: %d, want 2 (outbound, hairpin; no localhost)", c["postrouting"])
	}
}
