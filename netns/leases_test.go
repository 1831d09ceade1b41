package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func leaseNetwork(t *testing.T, subnet string) *Network {
	t.Helper()
	dir := t.TempDir()
	n, err := Open(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"), Bridge: "br0", Subnet: subnet})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLeaseIPSkipsReservedAddressesAndReclaimsStaleLeases(t *testing.T) {
	n := leaseNetwork(t, "10.1.2.0/29") // .1 gateway, .2-.6 containers, .7 broadcast
	live := map[string]bool{}
	alive := func(id string) bool { return live[id] }
	var got []netip.Addr
	for i := range 5 {
		id := string(rune('a'+i)) + "0000000000000"
		live[id] = true
		a, err := n.leaseIP(id, netip.Addr{}, alive, false)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if got[0].String() != "10.1.2.2" || got[4].String() != "10.1.2.6" {
		t.Fatalf("leased %v, want .2 to .6", got)
	}
	if _, err := n.leaseIP("f000000000000", netip.Addr{}, alive, false); !errors.Is(err, ErrSubnetFull) {
		t.Fatalf("sixth lease: %v, want ErrSubnetFull", err)
	}
	delete(live, "c0000000000000") // container c is gone: its lease is stale
	a, err := n.leaseIP("f000000000000", netip.Addr{}, alive, false)
	if err != nil || a.String() != "10.1.2.4" {
		t.Fatalf("lease after a container is gone: %v, %v; want its address 10.1.2.4", a, err)
	}
}

func TestLeaseIPRequested(t *testing.T) {
	n := leaseNetwork(t, "10.1.3.0/24")
	alive := func(string) bool { return true }
	want := netip.MustParseAddr("10.1.3.77")
	if a, err := n.leaseIP("a000000000000", want, alive, false); err != nil || a != want {
		t.Fatalf("--ip %s: %v, %v", want, a, err)
	}
	if _, err := n.leaseIP("b000000000000", want, alive, false); !errors.Is(err, ErrAddressInUse) {
		t.Fatalf("same --ip again: %v, want ErrAddressInUse", err)
	}
	if a, err := n.leaseIP("a000000000000", want, alive, false); err != nil || a != want {
		t.Fatalf("the owner asks again: %v, %v", a, err)
	}
	for _, bad := range []string{"10.1.3.0", "10.1.3.1", "10.1.3.255", "10.1.4.2"} {
		if _, err := n.leaseIP("c000000000000", netip.MustParseAddr(bad), alive, false); !errors.Is(err, ErrInvalid) {
			t.Errorf("--ip %s: %v, want ErrInvalid", bad, err)
		}
	}
	if err := n.releaseLeases("a000000000000"); err != nil {
		t.Fatal(err)
	}
	if ls, _ := n.Leases(); len(ls) != 0 {
		t.Fatalf("leases after release: %v", ls)
	}
}

func TestOpenRefusesBadConfig(t *testing.T) {
	for _, c := range []Config{
		{Bridge: "bad name", Subnet: "10.0.0.0/24"},
		{Bridge: "waytoolongbridgename", Subnet: "10.0.0.0/24"},
		{Subnet: "10.0.0.1/24"},
		{Subnet: "8.8.8.0/24"},
		{Subnet: "10.0.0.0/30"},
		{Subnet: "fd00::/64"},
		{Subnet: "nonsense"},
	} {
		c.Root, c.State = "/r", "/s"
		if _, err := Open(c); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want ErrInvalid", c, err)
		}
	}
}

// TestReclaimRemovesTempFilesOfInterruptedLeaseWrites: a kill -9 during
// a lease write left its temp file for ever (found by e2e/reliability's
// TestRandomKills); the next command's Reclaim removes it, and only it.
func TestReclaimRemovesTempFilesOfInterruptedLeaseWrites(t *testing.T) {
	n := leaseNetwork(t, "10.1.4.0/24")
	alive := func(string) bool { return true }
	a, err := n.leaseIP("a000000000000", netip.Addr{}, alive, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.leasePorts("a000000000000", []PortMapping{{Proto: "tcp", HostPort: 8080, ContainerPort: 80}}, alive, false); err != nil {
		t.Fatal(err)
	}
	temps := []string{
		filepath.Join(n.leaseDir("br0"), ".10.1.4.9.tmp-123"),
		filepath.Join(n.portDir(), ".tcp-8081-any.tmp-456"),
		filepath.Join(n.bridgeDir("br0"), ".last.tmp-789"),
	}
	for _, p := range temps {
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Reclaim(alive); err != nil {
		t.Fatal(err)
	}
	for _, p := range temps {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("Reclaim left %s", p)
		}
	}
	for _, p := range []string{filepath.Join(n.leaseDir("br0"), a.String()), filepath.Join(n.portDir(), "tcp-8080-any"), filepath.Join(n.bridgeDir("br0"), "last")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("Reclaim removed %s of a live container: %v", p, err)
		}
	}
}

// freeRange is n consecutive TCP ports nothing listens on (best effort:
// the kernel's ephemeral range is above the one tried).
func freeRange(t testing.TB, n int) uint16 {
	t.Helper()
	for base := 20000; base < 30000; base += n {
		ok := true
		for p := base; p < base+n && ok; p++ {
			_, err := bindOnce("tcp", net.JoinHostPort("0.0.0.0", strconv.Itoa(p)))
			ok = err == nil
		}
		if ok {
			return uint16(base)
		}
	}
	t.Skip("no free range of TCP ports")
	return 0
}

func TestLeasePortsRefusesARangeOverlappingALeaseAndWritesNothing(t *testing.T) {
	n := leaseNetwork(t, "10.1.5.0/24")
	alive := func(string) bool { return true }
	base := freeRange(t, 10)
	if _, err := n.leasePorts("a000000000000", []PortMapping{{Proto: "tcp", HostPort: base + 5, ContainerPort: 80}}, alive, true); err != nil {
		t.Fatal(err)
	}
	ms, err := ParsePublish(fmt.Sprintf("%d-%d:%d-%d", base, base+9, base, base+9))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.leasePorts("b000000000000", ms, alive, true); !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), strconv.Itoa(int(base+5))) {
		t.Fatalf("a range over a leased port: %v, want ErrPortInUse naming port %d", err, base+5)
	}
	if left, _ := filepath.Glob(filepath.Join(n.portDir(), "*")); len(left) != 1 {
		t.Errorf("the refused range left leases: %v", left)
	}
	// The same range for udp is free.
	for i := range ms {
		ms[i].Proto = "udp"
	}
	if got, err := n.leasePorts("b000000000000", ms, alive, true); err != nil || len(got) != 10 {
		t.Fatalf("udp range: %v, %v", got, err)
	}
}

func TestLeasePortsPicksTheFirstFreePortOfAHostRange(t *testing.T) {
	n := leaseNetwork(t, "10.1.6.0/24")
	alive := func(string) bool { return true }
	base := freeRange(t, 4)
	// base is leased, base+1 has another program listening.
	if _, err := n.leasePorts("a000000000000", []PortMapping{{Proto: "tcp", HostPort: base, ContainerPort: 80}}, alive, true); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp4", net.JoinHostPort("0.0.0.0", strconv.Itoa(int(base+1))))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	want := []PortMapping{{Proto: "tcp", HostPort: base + 2, ContainerPort: 80}, {Proto: "tcp", HostPort: base + 3, ContainerPort: 81}}
	req := []PortMapping{{Proto: "tcp", HostPort: base, HostPortEnd: base + 3, ContainerPort: 80}, {Proto: "tcp", HostPort: base, HostPortEnd: base + 3, ContainerPort: 81}}
	got, err := n.leasePorts("b000000000000", req, alive, true)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %+v, %v; want %+v", got, err, want)
	}
	// The range is used up now.
	if _, err := n.leasePorts("c000000000000", req[:1], alive, true); !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), fmt.Sprintf("%d-%d", base, base+3)) {
		t.Fatalf("a used-up range: %v, want ErrPortInUse naming the range", err)
	}
}
