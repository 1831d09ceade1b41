package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// IPv6 of a dual-stack network (network create --ipv6): the bridge gets
// the gateway's IPv6 address, the host forwards IPv6, and the network's
// ip6 table (nft.go) masquerades what leaves (NAT66) and DNATs published
// ports, as the ip table does for IPv4.

// ensureIPv6 turns IPv6 forwarding on and gives the bridge its IPv6
// gateway address. The network lock is held.
func (n *Network) ensureIPv6(h *netlink.Handle, br netlink.Link) error {
	if _, err := os.Stat("/proc/sys/net/ipv6"); err != nil {
		return fmt.Errorf("%w: network %s has IPv6 but this kernel has none (booted with ipv6.disable=1, or without CONFIG_IPV6): create the network without --ipv6", ErrUnsupported, n.label())
	}
	if err := keepRouterAdverts(h); err != nil {
		return err
	}
	if err := setSysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1"); err != nil {
		return err
	}
	if err := setSysctl("/proc/sys/net/ipv6/conf/"+n.bridge+"/disable_ipv6", "0"); err != nil {
		return err
	}
	return n.ensureGateway6(h, br)
}

// keepRouterAdverts keeps the host's own IPv6 uplink when forwarding is
// turned on: with forwarding=1 the kernel ignores router advertisements
// on an interface whose accept_ra is 1 (the default), so an uplink
// configured by them would lose its default route when the route's
// lifetime ends. Every interface of an IPv6 default route with
// accept_ra=1 gets accept_ra=2 (accept them although forwarding), before
// forwarding is turned on. Nothing is changed when forwarding is on.
func keepRouterAdverts(h *netlink.Handle) error {
	if b, err := os.ReadFile("/proc/sys/net/ipv6/conf/all/forwarding"); err == nil && strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	routes, err := retry(func() ([]netlink.Route, error) { return h.RouteList(nil, netlink.FAMILY_V6) })
	if err != nil {
		return fmt.Errorf("list IPv6 routes: %w", err)
	}
	for _, r := range routes {
		if p, ok := netipPrefix(r.Dst); (ok && p.Bits() > 0) || r.LinkIndex <= 0 {
			continue
		}
		l, err := h.LinkByIndex(r.LinkIndex)
		if err != nil {
			continue
		}
		path := "/proc/sys/net/ipv6/conf/" + l.Attrs().Name + "/accept_ra"
		if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == "1" {
			if err := setSysctl(path, "2"); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureGateway6 gives the bridge its IPv6 gateway address, without
// duplicate address detection (a tentative address could not be used at
// once); a bridge of ours with another global IPv6 address means the
// network's subnet changed while it was in use.
func (n *Network) ensureGateway6(h *netlink.Handle, l netlink.Link) error {
	addrs, err := retry(func() ([]netlink.Addr, error) { return h.AddrList(l, netlink.FAMILY_V6) })
	if err != nil {
		return fmt.Errorf("list IPv6 addresses of bridge %s: %w", n.bridge, err)
	}
	want := netip.PrefixFrom(n.gateway6, n.subnet6.Bits())
	for _, a := range addrs {
		p, ok := netipPrefix(a.IPNet)
		if !ok || p.Addr().IsLinkLocalUnicast() {
			continue
		}
		if p == want {
			return nil
		}
		return fmt.Errorf("%w: bridge %s has IPv6 address %s, not one of the subnet %s: remove the network and create it again", ErrInvalid, n.bridge, p, n.subnet6)
	}
	addr := &netlink.Addr{IPNet: ipNet(want), Flags: unix.IFA_F_NODAD}
	if err := h.AddrAdd(l, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add address %s to bridge %s: %w", want, n.bridge, err)
	}
	return nil
}

// noAutoconf keeps the container's interface name from configuring
// itself from router advertisements (another container on the bridge
// could send them): accept_ra and autoconf 0, in the container's
// namespace. Its addresses are edgerun's alone.
func noAutoconf(ns vnetns.NsHandle, name string) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		if err := unix.Setns(int(ns), unix.CLONE_NEWNET); err != nil {
			done <- fmt.Errorf("enter the container's network namespace: %w", err)
			return
		}
		dir := "/proc/sys/net/ipv6/conf/" + name + "/"
		if _, err := os.Stat(dir); err != nil {
			done <- nil // no IPv6 in this kernel: nothing to keep off
			return
		}
		done <- errors.Join(setSysctl(dir+"accept_ra", "0"), setSysctl(dir+"autoconf", "0"))
	}()
	return <-done
}

// configureInside6 gives the container's interface its IPv6 address
// (no DAD: usable at once, and the address is leased, so unique) and,
// with route, the IPv6 default route through the network's gateway.
func configureInside6(h *netlink.Handle, eth netlink.Link, a *Attachment, route bool) error {
	addr := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(a.IP6, a.Subnet6.Bits())), Flags: unix.IFA_F_NODAD}
	if err := h.AddrAdd(eth, addr); err != nil {
		return fmt.Errorf("add address %s: %w", a.IP6, err)
	}
	if route {
		return setDefaultRoute(h, eth, a.Gateway6)
	}
	return nil
}

// hasDefaultRoute6 says whether the namespace of h has an IPv6 default
// route.
func hasDefaultRoute6(h *netlink.Handle) bool {
	routes, err := retry(func() ([]netlink.Route, error) { return h.RouteList(nil, netlink.FAMILY_V6) })
	if err != nil {
		return false
	}
	for _, r := range routes {
		if p, ok := netipPrefix(r.Dst); (!ok || p.Bits() == 0) && r.Gw != nil {
			return true
		}
	}
	return false
}
