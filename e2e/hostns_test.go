package e2e

import (
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"testing"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"

	"github.com/edgerun/edgerun/internal/testenv"
)

// fakeHost is a network namespace that stands for the host edgerun runs
// on, with an uplink (a veth pair) to a namespace that stands for the
// internet: a test sets the host's firewall and uplink MTU as it likes,
// and no packet leaves this machine. Both namespaces live as long as the
// test's handles on them: edgerun's bridge, veths and tables in the host
// namespace end with it, even when the test fails.
type fakeHost struct {
	ns, inet vnetns.NsHandle
	uplink   netip.Addr // the host's address on the uplink
	server   netip.Addr // the internet's address
}

// newFakeHost makes the two namespaces; the host side of the uplink has
// MTU mtu, the internet's side farMTU (a larger one stands for a path
// that silently drops what does not fit).
func newFakeHost(t *testing.T, mtu, farMTU int) *fakeHost {
	t.Helper()
	testenv.SkipRootless(t, "the test makes network namespaces and firewall tables of its own")
	h := &fakeHost{ns: newNetNS(t), uplink: netip.MustParseAddr("198.51.100.1"), server: netip.MustParseAddr("198.51.100.2")}
	h.inet = newNetNS(t)
	host, err := netlink.NewHandleAt(h.ns)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	inet, err := netlink.NewHandleAt(h.inet)
	if err != nil {
		t.Fatal(err)
	}
	defer inet.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(host.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "uplink0", MTU: mtu},
		PeerName: "wan0", PeerMTU: uint32(farMTU), PeerNamespace: netlink.NsFd(int(h.inet))}))
	for _, side := range []struct {
		h          *netlink.Handle
		link       string
		addr, peer netip.Addr
	}{{host, "uplink0", h.uplink, h.server}, {inet, "wan0", h.server, h.uplink}} {
		lo, err := side.h.LinkByName("lo")
		must(err)
		must(side.h.LinkSetUp(lo))
		l, err := side.h.LinkByName(side.link)
		must(err)
		must(side.h.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: side.addr.AsSlice(), Mask: net.CIDRMask(30, 32)}}))
		must(side.h.LinkSetUp(l))
		if side.link == "uplink0" {
			must(side.h.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: side.peer.AsSlice()}))
		} else {
			// The internet sends packets as a wire carries them: a veth
			// passes GSO packets of any size to its peer, whatever the
			// peer's MTU, which would hide an MTU too large.
			must(side.h.LinkSetGSOMaxSegs(l, 1))
		}
	}
	return h
}

// newNetNS makes a network namespace, closed at the end of the test.
func newNetNS(t *testing.T) vnetns.NsHandle {
	t.Helper()
	var ns vnetns.NsHandle
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread, now in ns, ends with this goroutine
		ns, err = vnetns.New()
	}()
	<-done
	if err != nil {
		t.Fatalf("create a network namespace: %v", err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

// in runs f on a thread that entered ns (and ends with f): the sockets
// f opens, and the processes it starts, are in ns.
func in(ns vnetns.NsHandle, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked
		if err := vnetns.Set(ns); err != nil {
			done <- err
			return
		}
		done <- f()
	}()
	return <-done
}

// host runs f in the host namespace.
func (h *fakeHost) host(f func() error) error { return in(h.ns, f) }

// serve serves handler over HTTP from the internet and returns its URL.
func (h *fakeHost) serve(t *testing.T, handler http.Handler) string {
	t.Helper()
	var l net.Listener
	if err := in(h.inet, func() (err error) { l, err = net.Listen("tcp4", net.JoinHostPort(h.server.String(), "0")); return err }); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// nft applies f's changes to the host namespace's ruleset.
func (h *fakeHost) nft(t *testing.T, f func(c *nftables.Conn)) {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(h.ns)))
	if err != nil {
		t.Fatal(err)
	}
	f(c)
	if err := c.Flush(); err != nil {
		t.Fatalf("change the fake host's ruleset: %v", err)
	}
}
