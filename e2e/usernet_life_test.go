package e2e

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

// fakeInternet makes a network namespace standing for the internet: a
// veth pair to the host with a /30 of TEST-NET-2 (198.51.100.0/24, never
// routed on real networks) and a TCP server on port 9000 that answers
// "internet". No packet of the test leaves the host. It returns the
// server's address, and routes adds a route back to a subnet (a router
// on the LAN that knows the host's container subnets).
func fakeInternet(t *testing.T) (server netip.Addr, routes func(netip.Prefix)) {
	t.Helper()
	b := make([]byte, 1)
	rand.Read(b)
	base := netip.AddrFrom4([4]byte{198, 51, 100, b[0] &^ 3})
	hostSide, server := base.Next(), base.Next().Next()
	type made struct {
		fd  int
		l   net.Listener
		err error
	}
	done := make(chan made, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- made{err: err}
			return
		}
		fd, err := unix.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- made{err: err}
			return
		}
		l, err := net.Listen("tcp4", ":9000") // a socket of the new namespace
		done <- made{fd: fd, l: l, err: err}
	}()
	m := <-done
	if m.err != nil {
		t.Fatalf("make the fake internet: %v", m.err)
	}
	t.Cleanup(func() { m.l.Close(); unix.Close(m.fd) })
	go func() {
		for {
			c, err := m.l.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, "internet")
			c.Close()
		}
	}()
	name := "eri" + fmt.Sprintf("%x", b) + fmt.Sprintf("%d", os.Getpid()%100000)
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: "wan0", PeerNamespace: netlink.NsFd(m.fd)}
	if err := netlink.LinkAdd(v); err != nil {
		t.Fatalf("make the fake internet's veth: %v", err)
	}
	t.Cleanup(func() { _ = netlink.LinkDel(v) })
	addr := func(h *netlink.Handle, l netlink.Link, a netip.Addr) {
		ipn := &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(30, 32)}
		if err := h.AddrAdd(l, &netlink.Addr{IPNet: ipn}); err != nil {
			t.Fatal(err)
		}
		if err := h.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	host, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	addr(host, v, hostSide)
	in, err := netlink.NewHandleAt(vnetns.NsHandle(m.fd), unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	wan, err := in.LinkByName("wan0")
	if err != nil {
		t.Fatal(err)
	}
	addr(in, wan, server)
	return server, func(p netip.Prefix) {
		defer in.Close()
		dst := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 32)}
		if err := in.RouteAdd(&netlink.Route{Dst: dst, Gw: hostSide.AsSlice()}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUserNetworkInternalHasNoEgress(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.loadBusybox()
	n.userNetwork(t, "open")
	n.userNetwork(t, "vault", "--internal")
	vault := strings.TrimSpace(n.must("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}", "vault"))
	sub, gw, _ := strings.Cut(vault, " ")
	// Inside the internal network containers reach each other; it has no
	// default route.
	b := n.start("run", "--rm", "--name", "safe", "--network", "vault", "busybox", "sh", "-c", "echo ready; exec nc -l -p 7000 -e echo pong")
	b.waitLine(t, "ready")
	r := n.run("run", "--rm", "--network", "vault", "busybox", "sh", "-c", "ip route; nc -w 3 safe 7000 </dev/null")
	if strings.Contains(r.stdout, "default") || !strings.Contains(r.stdout, "pong") {
		t.Errorf("inside the internal network: %s\nwant no default route, and an answer from its peer", r)
	}
	b.wait(t)
	if testenv.Rootless() {
		return // the fake internet is a namespace on the host's network, not the session's
	}
	server, routeBack := fakeInternet(t)
	// The internet knows the way back to vault's subnet: only the drop
	// stops a container there.
	routeBack(netip.MustParsePrefix(sub))
	ask := "nc -w 3 " + server.String() + " 9000 </dev/null"
	if r := n.run("run", "--rm", "--network", "open", "busybox", "sh", "-c", ask); !strings.Contains(r.stdout, "internet") {
		t.Fatalf("the control: a container on a network that is not internal does not reach the fake internet: %s", r)
	}
	if r := n.run("run", "--rm", "--network", "vault", "busybox", "sh", "-c", ask); strings.Contains(r.stdout, "internet") {
		t.Errorf("internal network: %s\nwant no answer", r)
	}
	r = n.run("run", "--rm", "--network", "vault", "--cap-add", "NET_ADMIN", "busybox", "sh", "-c",
		"ip route add default via "+gw+" && "+ask)
	if strings.Contains(r.stdout, "internet") {
		t.Errorf("internal network with a default route added inside: %s\nwant the host to drop it", r)
	}
}

// addrs are a container's IPv4 addresses by interface ("eth0" -> "10.195.3.2/24").
func (n *netEnv) addrs(name string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(n.must("exec", name, "ip", "-4", "-o", "addr"), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[1] != "lo" {
			out[f[1]] = f[3]
		}
	}
	return out
}

func TestUserNetworkContainerKeepsItsNetworksOverRestartAndReboot(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.loadBusybox()
	n.fakeBootID("boot-1")
	brA := n.userNetwork(t, "a")
	brB := n.userNetwork(t, "b")
	serve := "while true; do nc -l -p 7000 -e echo pong; done"
	n.must("run", "-d", "--restart", "always", "--name", "svc", "--network", "a", "--network", "b", "--network-alias", "api", "busybox", "sh", "-c", serve)
	n.must("run", "-d", "--restart", "always", "--name", "pa", "--network", "a", "busybox", "sleep", "1000")
	n.must("run", "-d", "--restart", "always", "--name", "pb", "--network", "b", "busybox", "sleep", "1000")
	want := n.addrs("svc")
	if len(want) != 2 || want["eth0"] == "" || want["eth1"] == "" {
		t.Fatalf("svc's addresses: %v", want)
	}
	reach := func(when string) {
		t.Helper()
		if got := n.addrs("svc"); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: svc has %v, want %v", when, got, want)
		}
		for _, peer := range []string{"pa", "pb"} {
			if r := n.run("exec", peer, "sh", "-c", "nc -w 3 api 7000 </dev/null"); strings.TrimSpace(r.stdout) != "pong" {
				t.Errorf("%s: %s -> api: %s", when, peer, r)
			}
		}
	}
	reach("at first")
	n.must("restart", "-t", "0", "svc")
	reach("after restart")
	n.must("stop", "-t", "0", "svc")
	n.must("start", "svc")
	reach("after stop and start")
	if testenv.Rootless() {
		return // a simulated reboot deletes the bridges, which are the session's
	}

	// Power cut and reboot: the volatile root, the namespaces, the bridges
	// and the nftables tables are gone; the records and leases are not.
	n.must("boot", "--shutdown", "-t", "0")
	unmountUnder(n.root)
	unmountUnder(n.state)
	if err := os.RemoveAll(n.state); err != nil {
		t.Fatal(err)
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, br := range []string{brA, brB, n.bridge} {
		if l, err := netlink.LinkByName(br); err == nil {
			_ = netlink.LinkDel(l)
		}
		c.DelTable(&nftables.Table{Name: "edgerun_" + br, Family: nftables.TableFamilyIPv4})
		_ = c.Flush()
	}
	n.fakeBootID("boot-2")
	n.must("boot")
	reach("after a reboot and boot")
	if _, err := os.Stat(filepath.Join(n.root, "networks", "a.json")); err != nil {
		t.Errorf("the definition of a: %v", err)
	}
}

func TestUserNetworkUpdateKeepsTheNetworksAndAliases(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.must("load", "-i", imagePath(t, "sensor"))
	n.must("load", "-i", imagePath(t, "sensor-v2"))
	n.loadBusybox()
	n.userNetwork(t, "a")
	n.userNetwork(t, "b")
	port := freePort(t)
	n.must("run", "-d", "--name", "svc", "--network", "a", "--network", "b", "--network-alias", "api",
		"-p", fmt.Sprintf("%d:8080", port), "sensor", "serve")
	n.must("run", "-d", "--name", "client", "--network", "b", "busybox", "sleep", "1000")
	read := func(when string) string {
		t.Helper()
		r := n.run("exec", "client", "sh", "-c", `printf 'GET /reading HTTP/1.0\r\n\r\n' | nc -w 3 api 8080`)
		if r.code != 0 || !strings.Contains(r.stdout, `"sensor"`) {
			t.Errorf("%s: client -> api:8080: %s", when, r)
		}
		if got, err := getReading(fmt.Sprintf("http://127.0.0.1:%d/reading", port)); err != nil {
			t.Errorf("%s: the published port: %q, %v", when, got, err)
		}
		return r.stdout
	}
	read("before the update")
	before := strings.TrimSpace(n.must("inspect", "-f", "{{.Id}}", "svc"))
	if r := n.run("update", "--image", "sensor:v2", "--pull", "never", "--update-wait", "1s", "svc"); r.code != 0 {
		t.Fatalf("update: %s", r)
	}
	after := strings.TrimSpace(n.must("inspect", "-f", "{{.Id}}", "svc"))
	if after == before {
		t.Fatal("update did not replace the container")
	}
	nets := n.must("inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}:{{range $v.Aliases}}{{.}}{{end}} {{end}}", "svc")
	if strings.TrimSpace(nets) != "a:api b:api" {
		t.Errorf("the replacement's networks: %q, want a and b with the alias api", nets)
	}
	read("after the update")
}
