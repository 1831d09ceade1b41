package netns

import (
	"crypto/rand"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// fakeInternet makes a network namespace standing for "the internet": a
// veth pair to the host with a /30 of TEST-NET-2 (198.51.100.0/24, never
// routed on real networks). It returns the namespace path, the server's
// address and the host side's address.
func fakeInternet(t *testing.T) (string, netip.Addr, netip.Addr) {
	t.Helper()
	b := []byte{0}
	rand.Read(b)
	base := netip.AddrFrom4([4]byte{198, 51, 100, b[0] &^ 3})
	hostSide, server := base.Next(), base.Next().Next()
	path := filepath.Join(t.TempDir(), "internet")
	if err := createNS(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeNS(path); err != nil {
			t.Errorf("remove the fake internet: %v", err)
		}
	})
	ns, err := vnetns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, _ := netlink.NewHandle(unix.NETLINK_ROUTE)
	defer h.Close()
	name := "eri" + randomHex(t, 4)
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: "wan0", PeerNamespace: netlink.NsFd(int(ns))}
	if err := h.LinkAdd(v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h2, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			t.Errorf("remove veth %s: %v", name, err)
			return
		}
		defer h2.Close()
		if err := h2.LinkDel(v); err != nil {
			t.Errorf("remove veth %s: %v", name, err)
		}
	})
	if err := h.AddrAdd(v, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(hostSide, 30))}); err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(v); err != nil {
		t.Fatal(err)
	}
	in, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	wan, err := in.LinkByName("wan0")
	if err != nil {
		t.Fatal(err)
	}
	if err := in.AddrAdd(wan, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(server, 30))}); err != nil {
		t.Fatal(err)
	}
	if err := in.LinkSetUp(wan); err != nil {
		t.Fatal(err)
	}
	return path, server, hostSide
}

func TestContainerReachesTheInternetThroughNAT(t *testing.T) {
	n := testNetwork(t, 24)
	inet, server, hostSide := fakeInternet(t)
	serveTCP(t, inet, net.JoinHostPort(server.String(), "9000"), "internet")
	a := setup(t, n, SetupOptions{})
	got, err := fetch(t, a.NetNS, net.JoinHostPort(server.String(), "9000"))
	if err != nil {
		t.Fatalf("container -> %s: %v", server, err)
	}
	// The server sees the host's address, not the container's: masquerade.
	if !strings.HasPrefix(got, "internet "+hostSide.String()+":") {
		t.Fatalf("server answered %q, want a connection from the host side %s", got, hostSide)
	}
	if fwd, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); strings.TrimSpace(string(fwd)) != "1" {
		t.Errorf("ip_forward is %q after setup", fwd)
	}
}
