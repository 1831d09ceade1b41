package netns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

// testNetwork opens a network with a bridge name and subnet of its own
// (so it never meets a developer's edgerun0 or another test), and at the
// end checks that no veth, mount, rule or lease of it is left, then
// removes the bridge and table.
func testNetwork(t *testing.T, bits int) *Network {
	t.Helper()
	testenv.RequireRoot(t, "create network namespaces, bridges and nftables rules")
	suffix := randomHex(t, 3)
	dir := t.TempDir()
	// 10.199.0.0/16 is private and unused by docker, podman and edgerun's default.
	subnet := netip.PrefixFrom(testenv.FreeSubnet(t, 199).Addr(), bits).Masked()
	n, err := Open(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"),
		Bridge: "ert" + suffix, Subnet: subnet.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		assertNothingLeft(t, n, dir)
		if err := n.RemoveBridge(func(string) bool { return false }); err != nil {
			t.Errorf("remove test bridge: %v", err)
		}
	})
	return n
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func newID(t *testing.T) string { return randomHex(t, 32) }

// assertNothingLeft checks that no container of n (opened on dir/root
// and dir/state) left a veth, a netns mount, a DNAT rule or a lease, then
// tears down what is left, so one failing test does not leak into the next.
func assertNothingLeft(t *testing.T, n *Network, dir string) {
	t.Helper()
	testenv.AssertNoNetwork(t, testenv.Network{Bridge: n.bridge, Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state")})
	if err := n.Reclaim(func(string) bool { return false }); err != nil {
		t.Errorf("tear down what is left: %v", err)
	}
}

func portRules(t *testing.T, n *Network) []*nftables.Rule {
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	tb := n.table(n.bridge)
	rules, _ := c.GetRules(tb, &nftables.Chain{Name: chainPorts, Table: tb})
	return rules
}

// setup attaches a fake container (a namespace without processes) and
// tears it down at the end of the test.
func setup(t *testing.T, n *Network, o SetupOptions) *Attachment {
	t.Helper()
	if o.ID == "" {
		o.ID = newID(t)
	}
	a, err := n.Setup(context.Background(), o)
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Teardown(o.ID, a.Bridge); err != nil {
			t.Errorf("teardown: %v", err)
		}
	})
	return a
}

// inNS runs f on a thread that entered the namespace at path; the thread
// is never unlocked, so Go ends it afterwards instead of reusing it.
func inNS(t testing.TB, path string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ns, err := vnetns.GetFromPath(path)
		if err != nil {
			done <- err
			return
		}
		defer ns.Close()
		if err := vnetns.Set(ns); err != nil {
			done <- err
			return
		}
		done <- f()
	}()
	return <-done
}

// serveTCP listens in the namespace at path (the socket belongs to the
// namespace it was created in) and answers every connection with reply.
func serveTCP(t *testing.T, nsPath, addr, reply string) net.Listener {
	t.Helper()
	var l net.Listener
	err := inNS(t, nsPath, func() (err error) { l, err = net.Listen("tcp4", addr); return err })
	if err != nil {
		t.Fatalf("listen in %s: %v", nsPath, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s %s", reply, c.RemoteAddr())
			c.Close()
		}
	}()
	return l
}

// fetch dials addr (from the namespace at nsPath, or the host when "")
// and returns what the server said.
func fetch(t *testing.T, nsPath, addr string) (string, error) {
	t.Helper()
	var c net.Conn
	dial := func() (err error) { c, err = net.DialTimeout("tcp4", addr, 5*time.Second); return err }
	var err error
	if nsPath == "" {
		err = dial()
	} else {
		err = inNS(t, nsPath, dial)
	}
	if err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

func TestContainersOnTheBridgeReachEachOther(t *testing.T) {
	n := testNetwork(t, 24)
	a := setup(t, n, SetupOptions{})
	b := setup(t, n, SetupOptions{})
	if a.IP == b.IP || !n.subnet.Contains(a.IP) || !n.subnet.Contains(b.IP) {
		t.Fatalf("addresses %s and %s, subnet %s", a.IP, b.IP, n.subnet)
	}
	serveTCP(t, a.NetNS, ":7000", "hello")
	got, err := fetch(t, b.NetNS, net.JoinHostPort(a.IP.String(), "7000"))
	if err != nil || !strings.HasPrefix(got, "hello "+b.IP.String()+":") {
		t.Fatalf("b -> a: %q, %v; want hello from %s", got, err, b.IP)
	}
}

func TestContainerNamespaceHasLoopbackAddressRouteAndUplinkMTU(t *testing.T) {
	n := testNetwork(t, 24)
	a := setup(t, n, SetupOptions{})
	ns, err := vnetns.GetFromPath(a.NetNS)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	lo, _ := h.LinkByName("lo")
	eth, err := h.LinkByName("eth0")
	if err != nil || lo.Attrs().Flags&net.FlagUp == 0 || eth.Attrs().Flags&net.FlagUp == 0 {
		t.Fatalf("lo %v, eth0 %v (%v): want both up", lo.Attrs().Flags, eth, err)
	}
	host, _ := netlink.NewHandle(unix.NETLINK_ROUTE)
	defer host.Close()
	if want := uplinkMTU(host); eth.Attrs().MTU != want || a.MTU != want {
		t.Errorf("eth0 MTU %d, attachment %d, want the uplink's %d", eth.Attrs().MTU, a.MTU, want)
	}
	routes, _ := h.RouteList(eth, netlink.FAMILY_V4)
	found := false
	for _, r := range routes {
		if d, ok := netipPrefix(r.Dst); (!ok || d.Bits() == 0) && r.Gw.Equal(n.gateway.AsSlice()) {
			found = true
		}
	}
	if !found {
		t.Errorf("no default route via %s in %v", n.gateway, routes)
	}
}

func TestPublishedTCPPortAnswersOnHostAddressAndLocalhost(t *testing.T) {
	n := testNetwork(t, 24)
	hostPort := freePort(t, "tcp")
	a := setup(t, n, SetupOptions{Ports: []PortMapping{{HostPort: hostPort, ContainerPort: 8080, Proto: "tcp"}}})
	serveTCP(t, a.NetNS, ":8080", "served")
	peer := setup(t, n, SetupOptions{})
	for _, host := range []string{"127.0.0.1", hostAddr(t).String()} {
		addr := net.JoinHostPort(host, fmt.Sprint(hostPort))
		if got, err := fetch(t, "", addr); err != nil || !strings.HasPrefix(got, "served") {
			t.Errorf("host -> %s: %q, %v", addr, got, err)
		}
		if host == "127.0.0.1" {
			continue
		}
		// Hairpin: the container itself and its neighbour, through the host's address.
		for _, from := range []*Attachment{a, peer} {
			if got, err := fetch(t, from.NetNS, addr); err != nil || !strings.HasPrefix(got, "served") {
				t.Errorf("container %s -> %s: %q, %v", from.IP, addr, got, err)
			}
		}
	}
}

func TestPublishedUDPPortAnswersOnHostAddressAndLocalhost(t *testing.T) {
	n := testNetwork(t, 24)
	hostPort := freePort(t, "udp")
	a := setup(t, n, SetupOptions{Ports: []PortMapping{{HostPort: hostPort, ContainerPort: 5353, Proto: "udp"}}})
	var pc net.PacketConn
	if err := inNS(t, a.NetNS, func() (err error) { pc, err = net.ListenPacket("udp4", ":5353"); return err }); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 512)
		for {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			// A lost answer fails the client's read below.
			_, _ = pc.WriteTo(append([]byte("echo "), buf[:k]...), from)
		}
	}()
	for _, host := range []string{"127.0.0.1", hostAddr(t).String()} {
		addr := net.JoinHostPort(host, fmt.Sprint(hostPort))
		c, err := net.Dial("udp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatalf("udp %s: %v", addr, err)
		}
		buf := make([]byte, 512)
		k, err := c.Read(buf)
		c.Close()
		if err != nil || string(buf[:k]) != "echo ping" {
			t.Errorf("udp %s: %q, %v", addr, buf[:k], err)
		}
	}
}

// hostAddr is an address of this host that is not loopback and not on a
// test bridge: the uplink's.
func hostAddr(t *testing.T) netip.Addr {
	t.Helper()
	h, _ := netlink.NewHandle(unix.NETLINK_ROUTE)
	defer h.Close()
	routes, _ := retry(func() ([]netlink.Route, error) { return h.RouteList(nil, netlink.FAMILY_V4) })
	for _, r := range routes {
		if d, ok := netipPrefix(r.Dst); (!ok || d.Bits() == 0) && r.LinkIndex > 0 {
			l, _ := h.LinkByIndex(r.LinkIndex)
			addrs, _ := h.AddrList(l, netlink.FAMILY_V4)
			if len(addrs) > 0 {
				a, _ := netip.AddrFromSlice(addrs[0].IP)
				return a.Unmap()
			}
		}
	}
	t.Skip("no default route with an address: cannot test the host's own address")
	return netip.Addr{}
}

func freePort(t *testing.T, proto string) uint16 {
	t.Helper()
	p, err := pickPort(PortMapping{Proto: proto})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParallelSetupsGetDistinctAddresses(t *testing.T) {
	n := testNetwork(t, 24)
	const count = 20
	var mu sync.Mutex
	seen := map[netip.Addr]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, count)
	for range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := newID(t)
			a, err := n.Setup(context.Background(), SetupOptions{ID: id})
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			seen[a.IP] = true
			mu.Unlock()
			errs <- n.Teardown(id, a.Bridge)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if len(seen) != count {
		t.Fatalf("%d containers got %d distinct addresses: %v", count, len(seen), seen)
	}
}

func TestFaultsFailBeforeAnythingIsLeft(t *testing.T) {
	n := testNetwork(t, 29) // 8 addresses: 5 for containers
	taken := setup(t, n, SetupOptions{})
	if _, err := n.Setup(context.Background(), SetupOptions{ID: newID(t), IP: taken.IP}); !errors.Is(err, ErrAddressInUse) {
		t.Errorf("--ip of another container: %v, want ErrAddressInUse", err)
	}
	if _, err := n.Setup(context.Background(), SetupOptions{ID: newID(t), IP: n.gateway}); !errors.Is(err, ErrInvalid) {
		t.Errorf("--ip of the gateway: %v, want ErrInvalid", err)
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := uint16(l.Addr().(*net.TCPAddr).Port)
	if _, err := n.Setup(context.Background(), SetupOptions{ID: newID(t), Ports: []PortMapping{{HostPort: busy, ContainerPort: 80, Proto: "tcp"}}}); !errors.Is(err, ErrPortInUse) {
		t.Errorf("host port %d in use: %v, want ErrPortInUse", busy, err)
	}
	pub := setup(t, n, SetupOptions{Ports: []PortMapping{{ContainerPort: 80, Proto: "tcp"}}})
	if _, err := n.Setup(context.Background(), SetupOptions{ID: newID(t), Ports: []PortMapping{{HostPort: pub.Ports[0].HostPort, ContainerPort: 81, Proto: "tcp"}}}); !errors.Is(err, ErrPortInUse) {
		t.Errorf("host port published by another container: %v, want ErrPortInUse", err)
	}
	for range 3 {
		setup(t, n, SetupOptions{})
	}
	if _, err := n.Setup(context.Background(), SetupOptions{ID: newID(t)}); !errors.Is(err, ErrSubnetFull) {
		t.Errorf("sixth container in a /29: %v, want ErrSubnetFull", err)
	}
	assertOnlyLeases(t, n, 5)
}

// assertOnlyLeases checks that failed setups left no lease, veth or mount.
func assertOnlyLeases(t *testing.T, n *Network, want int) {
	t.Helper()
	if ls, _ := n.Leases(); len(ls) != want {
		t.Errorf("%d leases, want %d", len(ls), want)
	}
	if ents, _ := os.ReadDir(n.state); len(ents) != want {
		t.Errorf("%d netns mounts, want %d", len(ents), want)
	}
}

func TestBridgeNameOfAForeignInterfaceIsRefused(t *testing.T) {
	n := testNetwork(t, 24)
	h, _ := netlink.NewHandle(unix.NETLINK_ROUTE)
	defer h.Close()
	dummy := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: n.bridge}, PeerName: n.bridge + "p"}
	if err := h.LinkAdd(dummy); err != nil {
		t.Fatalf("create a veth named %s: %v", n.bridge, err)
	}
	defer func() {
		if err := h.LinkDel(dummy); err != nil {
			t.Errorf("remove the veth named %s: %v", n.bridge, err)
		}
	}()
	_, err := n.Setup(context.Background(), SetupOptions{ID: newID(t)})
	if !errors.Is(err, ErrBridgeTaken) {
		t.Fatalf("setup with a veth named %s: %v, want ErrBridgeTaken", n.bridge, err)
	}
	if ls, _ := n.Leases(); len(ls) != 0 {
		t.Fatalf("leases left: %v", ls)
	}
}

// A command killed between creating the bridge and marking it leaves a
// bridge with no alias, down, with no port and no address: the next
// setup adopts it. One with an address (someone's) is still refused.
func TestHalfMadeBridgeIsAdoptedAndAUsedOneRefused(t *testing.T) {
	n := testNetwork(t, 24)
	h, _ := netlink.NewHandle(unix.NETLINK_ROUTE)
	defer h.Close()
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.bridge, TxQLen: -1}}
	if err := h.LinkAdd(br); err != nil {
		t.Fatalf("create the bare bridge %s: %v", n.bridge, err)
	}
	setup(t, n, SetupOptions{})
	l, err := h.LinkByName(n.bridge)
	if err != nil || l.Attrs().Alias != n.ownerAlias() {
		t.Fatalf("bridge %s after setup: %v, alias %q, want %q", n.bridge, err, l.Attrs().Alias, n.ownerAlias())
	}

	other := testNetwork(t, 24)
	br = &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: other.bridge, TxQLen: -1}}
	if err := h.LinkAdd(br); err != nil {
		t.Fatalf("create the bridge %s: %v", other.bridge, err)
	}
	defer func() { _ = h.LinkDel(br) }()
	addr, _ := netlink.ParseAddr("192.0.2.1/24")
	if err := h.AddrAdd(br, addr); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Setup(context.Background(), SetupOptions{ID: newID(t)}); !errors.Is(err, ErrBridgeTaken) {
		t.Fatalf("setup on a bridge with an address and no alias: %v, want ErrBridgeTaken", err)
	}
}

func TestRemoveBridgeOfAnotherRootIsRefusedAndLeavesItsRules(t *testing.T) {
	n := testNetwork(t, 24)
	setup(t, n, SetupOptions{Ports: []PortMapping{{ContainerPort: 80, Proto: "tcp"}}})
	dir := t.TempDir()
	other, err := Open(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"),
		Bridge: n.bridge, Subnet: n.subnet.String()})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.RemoveBridge(func(string) bool { return false }); !errors.Is(err, ErrBridgeTaken) {
		t.Fatalf("remove another root's bridge: %v, want ErrBridgeTaken", err)
	}
	if rules := portRules(t, n); len(rules) != 1 {
		t.Fatalf("%d DNAT rules left in the owner's table, want 1", len(rules))
	}
}

func TestReclaimRemovesWhatAGoneContainerLeft(t *testing.T) {
	n := testNetwork(t, 24)
	id := newID(t)
	if _, err := n.Setup(context.Background(), SetupOptions{ID: id, Ports: []PortMapping{{ContainerPort: 80, Proto: "tcp"}}}); err != nil {
		t.Fatal(err)
	}
	if err := n.Reclaim(func(x string) bool { return x == id }); err != nil {
		t.Fatal(err)
	}
	if ls, _ := n.Leases(); len(ls) != 1 || len(portRules(t, n)) != 1 {
		t.Fatalf("reclaim touched a live container: leases %v", ls)
	}
	if err := n.Reclaim(func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	// assertNothingLeft (cleanup) checks veth, mount, rules and leases.
}

// BenchmarkSetupTeardown measures what bridge networking adds to a
// container's start and removal (go test -bench SetupTeardown ./netns).
func BenchmarkSetupTeardown(b *testing.B) {
	testenv.RequireRoot(b, "create network namespaces, bridges and veths")
	dir := b.TempDir()
	n, err := Open(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"), Bridge: "erbench1", Subnet: "10.192.0.0/24"})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := n.RemoveBridge(func(string) bool { return false }); err != nil {
			b.Errorf("remove the bridge: %v", err)
		}
	}()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprintf("%013x%051x", i+1, 0) // the veth name uses the first 13
		a, err := n.Setup(context.Background(), SetupOptions{ID: id})
		if err != nil {
			b.Fatal(err)
		}
		if err := n.Teardown(id, a.Bridge); err != nil {
			b.Fatal(err)
		}
	}
}
