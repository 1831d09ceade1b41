package netns

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// userNetwork creates network name of s and opens it.
func userNetwork(t *testing.T, s *Store, o CreateOptions) *Network {
	t.Helper()
	d, err := s.Create(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Network(d)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// attach attaches a fake container to eps and tears it down at the end.
func attach(t *testing.T, eps ...Endpoint) []*Attachment {
	t.Helper()
	id := newID(t)
	as, err := SetupAll(context.Background(), SetupOptions{ID: id}, eps)
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	t.Cleanup(func() {
		var bridges []string
		for _, a := range as {
			bridges = append(bridges, a.Bridge)
		}
		if err := eps[0].Net.Teardown(id, bridges...); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return as
}

// routesIn lists the IPv4 routes of the namespace at path.
func routesIn(t *testing.T, path string) []netlink.Route {
	t.Helper()
	ns, err := vnetns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	rs, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func defaultGateway(t *testing.T, path string) netip.Addr {
	for _, r := range routesIn(t, path) {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			a, _ := netip.AddrFromSlice(r.Gw)
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

func TestContainerOnTwoNetworksReachesBothAndTheyStayApart(t *testing.T) {
	s, sub := testStore(t)
	front := userNetwork(t, s, CreateOptions{Name: "front", Subnet: sub(0)})
	back := userNetwork(t, s, CreateOptions{Name: "back", Subnet: sub(1), Options: map[string]string{"mtu": "1300"}})
	both := attach(t, Endpoint{Net: front, Index: 0}, Endpoint{Net: back, Index: 1, Aliases: []string{"api"}})
	web := attach(t, Endpoint{Net: front})
	db := attach(t, Endpoint{Net: back})
	if both[1].Interface() != "eth1" || both[1].MTU != 1300 || both[1].Network != "back" || both[1].Aliases[0] != "api" || both[1].MAC == "" {
		t.Errorf("second attachment: %+v", both[1])
	}
	if gw := defaultGateway(t, both[0].NetNS); gw != front.Gateway() {
		t.Errorf("default route via %v, want the first network's gateway %v", gw, front.Gateway())
	}
	serveTCP(t, db[0].NetNS, net.JoinHostPort(db[0].IP.String(), "7000"), "db")
	serveTCP(t, web[0].NetNS, net.JoinHostPort(web[0].IP.String(), "7000"), "web")
	if _, err := fetch(t, both[0].NetNS, net.JoinHostPort(db[0].IP.String(), "7000")); err != nil {
		t.Errorf("the container on both networks -> db: %v", err)
	}
	if _, err := fetch(t, both[0].NetNS, net.JoinHostPort(web[0].IP.String(), "7000")); err != nil {
		t.Errorf("the container on both networks -> web: %v", err)
	}
	// web -> db goes through the host (web's default route), which must
	// not forward between two edgerun networks.
	if got, err := fetchQuick(t, web[0].NetNS, net.JoinHostPort(db[0].IP.String(), "7000")); err == nil {
		t.Errorf("web (front) reached db (back): %q", got)
	}
	if got, err := fetchQuick(t, db[0].NetNS, net.JoinHostPort(web[0].IP.String(), "7000")); err == nil {
		t.Errorf("db (back) reached web (front): %q", got)
	}
}

func TestInternalNetworkHasNoWayOut(t *testing.T) {
	s, sub := testStore(t)
	inet, server, hostSide := fakeInternet(t)
	serveTCP(t, inet, net.JoinHostPort(server.String(), "9000"), "internet")
	in := userNetwork(t, s, CreateOptions{Name: "vault", Subnet: sub(0), Internal: true})
	// The internet knows the way back (a LAN router with a route to the
	// host's subnets would), so only the drop stops what goes out.
	inetRoute(t, inet, in.Subnet(), hostSide)
	out := userNetwork(t, s, CreateOptions{Name: "out", Subnet: sub(1)})
	a := attach(t, Endpoint{Net: in})
	if gw := defaultGateway(t, a[0].NetNS); gw.IsValid() {
		t.Errorf("a container on an internal network has a default route via %v", gw)
	}
	// Even with a route (a container with NET_ADMIN could add one), the
	// host forwards nothing out of the internal bridge.
	addDefaultRoute(t, a[0].NetNS, in.Gateway())
	if got, err := fetchQuick(t, a[0].NetNS, net.JoinHostPort(server.String(), "9000")); err == nil {
		t.Errorf("internal container reached the internet: %q", got)
	}
	// Its first network internal, the next one gives the default route.
	b := attach(t, Endpoint{Net: in}, Endpoint{Net: out, Index: 1})
	if gw := defaultGateway(t, b[0].NetNS); gw != out.Gateway() {
		t.Errorf("default route via %v, want the non-internal network's %v", gw, out.Gateway())
	}
	if _, err := fetch(t, b[0].NetNS, net.JoinHostPort(server.String(), "9000")); err != nil {
		t.Errorf("through the non-internal network: %v", err)
	}
	if _, err := SetupAll(context.Background(), SetupOptions{ID: newID(t), Ports: []PortMapping{{ContainerPort: 80, Proto: "tcp"}}},
		[]Endpoint{{Net: in}}); err == nil {
		t.Error("ports published on an internal network")
	}
}

func inetRoute(t *testing.T, path string, dst netip.Prefix, via netip.Addr) {
	t.Helper()
	ns, _ := vnetns.GetFromPath(path)
	defer ns.Close()
	h, _ := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	defer h.Close()
	if err := h.RouteAdd(&netlink.Route{Dst: ipNet(dst), Gw: via.AsSlice()}); err != nil {
		t.Fatal(err)
	}
}

func addDefaultRoute(t *testing.T, path string, gw netip.Addr) {
	t.Helper()
	ns, _ := vnetns.GetFromPath(path)
	defer ns.Close()
	h, _ := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	defer h.Close()
	l, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if err := setDefaultRoute(h, l, gw); err != nil {
		t.Fatal(err)
	}
}

func TestConnectAndDisconnectMoveTheDefaultRoute(t *testing.T) {
	s, sub := testStore(t)
	ctx := context.Background()
	in := userNetwork(t, s, CreateOptions{Name: "in", Subnet: sub(0), Internal: true})
	out := userNetwork(t, s, CreateOptions{Name: "out", Subnet: sub(1)})
	a := attach(t, Endpoint{Net: in})
	id := idOf(t, a[0])
	b, err := out.Connect(ctx, SetupOptions{ID: id}, Endpoint{Net: out, Index: 1}, true)
	if err != nil {
		t.Fatal(err)
	}
	if gw := defaultGateway(t, a[0].NetNS); gw != out.Gateway() || b.Interface() != "eth1" {
		t.Errorf("after connect: default route via %v, interface %s", gw, b.Interface())
	}
	if ls, _ := out.Leases(); len(ls) != 1 || ls[0].ID != id {
		t.Errorf("leases on out: %+v", ls)
	}
	if err := out.Disconnect(id, b, nil); err != nil {
		t.Fatal(err)
	}
	if ls, _ := out.Leases(); len(ls) != 0 {
		t.Errorf("leases on out after disconnect: %+v", ls)
	}
	if ls, _ := in.Leases(); len(ls) != 1 {
		t.Errorf("the lease on in went too: %+v", ls)
	}
	if link(vethName(id, 1)) != nil || link(vethName(id, 0)) == nil {
		t.Error("disconnect removed the wrong veth")
	}
	if gw := defaultGateway(t, a[0].NetNS); gw.IsValid() {
		t.Errorf("a default route via %v is left", gw)
	}
}

// idOf is the container ID of a fake container's attachment.
func idOf(t *testing.T, a *Attachment) string {
	t.Helper()
	l := link(a.HostVeth)
	if l == nil {
		t.Fatalf("no veth %s", a.HostVeth)
	}
	return l.Attrs().Alias[len(vethAliasPrefix):]
}

// fetchQuick is fetch for what should fail: dropped packets time out
// after a second.
func fetchQuick(t *testing.T, nsPath, addr string) (string, error) {
	t.Helper()
	var c net.Conn
	err := inNS(t, nsPath, func() (err error) { c, err = net.DialTimeout("tcp4", addr, time.Second); return err })
	if err != nil {
		return "", err
	}
	defer c.Close()
	b := make([]byte, 64)
	n, err := c.Read(b)
	return string(b[:n]), err
}
