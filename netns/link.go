package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// vethAliasPrefix marks a host veth as a container's (IFLA_IFALIAS
// "edgerun:<id>"), so leftovers are found by ID.
const vethAliasPrefix = "edgerun:"

// retry runs a netlink dump again when the kernel reports it was
// interrupted by a concurrent change (the results may be inconsistent).
func retry[T any](f func() (T, error)) (T, error) {
	var v T
	var err error
	for range 10 {
		if v, err = f(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf) || errors.Is(err, unix.ENODEV)
}

// unsupported turns the errors of a kernel without a link type into a clear one.
func unsupported(kind string, err error) error {
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EPROTONOSUPPORT) {
		return fmt.Errorf("%w: this kernel cannot create %s interfaces (%w): enable CONFIG_%s or load its module, or run with --network host or none",
			ErrUnsupported, kind, err, strings.ToUpper(kind))
	}
	return fmt.Errorf("create %s interface: %w", kind, err)
}

// ensureBridge finds this network's bridge or creates it, with the
// gateway address, up. A bridge name held by anything else is refused.
func (n *Network) ensureBridge(h *netlink.Handle, mtu int) (netlink.Link, error) {
	l, err := h.LinkByName(n.bridge)
	if isNotFound(err) {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.bridge, MTU: mtu, TxQLen: -1, Group: bridgeGroup}}
		if err := n.checkOverlap(h); err != nil {
			return nil, err
		}
		if err := h.LinkAdd(br); err != nil {
			return nil, unsupported("bridge", err)
		}
		// The kernel ignores IFLA_IFALIAS in a create request.
		if err := h.LinkSetAlias(br, n.ownerAlias()); err != nil {
			_ = h.LinkDel(br) // best effort: the alias error is the one to report
			return nil, fmt.Errorf("mark bridge %s as edgerun's: %w", n.bridge, err)
		}
		l, err = h.LinkByName(n.bridge)
	}
	if err != nil {
		return nil, fmt.Errorf("find bridge %s: %w", n.bridge, err)
	}
	if l.Type() != "bridge" {
		return nil, fmt.Errorf("%w: %s is a %s interface of this host, not edgerun's bridge: choose another with %s", ErrBridgeTaken, n.bridge, l.Type(), n.bridgeFlag())
	}
	if l, err = n.adoptHalfMade(h, l); err != nil {
		return nil, err
	}
	if l.Attrs().Alias != n.ownerAlias() {
		return nil, fmt.Errorf("%w: bridge %s belongs to another program or edgerun root (alias %q): choose another with %s", ErrBridgeTaken, n.bridge, l.Attrs().Alias, n.bridgeFlag())
	}
	if err := n.ensureGateway(h, l); err != nil {
		return nil, err
	}
	if l.Attrs().Group != bridgeGroup { // a bridge of an edgerun before user-defined networks
		if err := h.LinkSetGroup(l, bridgeGroup); err != nil {
			return nil, fmt.Errorf("put bridge %s in edgerun's interface group: %w", n.bridge, err)
		}
	}
	if l.Attrs().Flags&net.FlagUp == 0 {
		if err := h.LinkSetUp(l); err != nil {
			return nil, fmt.Errorf("bring bridge %s up: %w", n.bridge, err)
		}
	}
	return l, nil
}

// bridgeGroup is the interface group (IFLA_GROUP) of every edgerun
// bridge: a user-defined network's table drops what it would forward to
// or from another bridge of the group (see ensureTable), as docker
// isolates its bridge networks from each other.
const bridgeGroup = 0x4552 // "ER"

// bridgeFlag is the flag that names the bridge, for messages.
func (n *Network) bridgeFlag() string {
	if n.name != "" {
		return "-o bridge=NAME"
	}
	return "--bridge"
}

// adoptHalfMade marks as this network's a bridge an edgerun command made
// and was killed before marking: between LinkAdd and LinkSetAlias (the
// kernel takes no alias in a create request) it is left with no alias,
// down, with no port and no address. Refusing it would refuse this
// bridge name for good; anything else about the bridge is left alone.
func (n *Network) adoptHalfMade(h *netlink.Handle, l netlink.Link) (netlink.Link, error) {
	a := l.Attrs()
	if a.Alias != "" || a.Flags&net.FlagUp != 0 || a.MasterIndex != 0 {
		return l, nil
	}
	links, err := retry(func() ([]netlink.Link, error) { return h.LinkList() })
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	for _, o := range links {
		if o.Attrs().MasterIndex == a.Index {
			return l, nil // it has ports: someone uses it
		}
	}
	addrs, err := retry(func() ([]netlink.Addr, error) { return h.AddrList(l, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, fmt.Errorf("list addresses of bridge %s: %w", n.bridge, err)
	}
	if len(addrs) > 0 {
		return l, nil
	}
	if err := h.LinkSetAlias(l, n.ownerAlias()); err != nil {
		return nil, fmt.Errorf("mark bridge %s as edgerun's: %w", n.bridge, err)
	}
	return h.LinkByName(n.bridge)
}

// ensureGateway gives the bridge the subnet's first address; a bridge of
// ours with another subnet means --subnet changed while it was in use.
func (n *Network) ensureGateway(h *netlink.Handle, l netlink.Link) error {
	addrs, err := retry(func() ([]netlink.Addr, error) { return h.AddrList(l, netlink.FAMILY_V4) })
	if err != nil {
		return fmt.Errorf("list addresses of bridge %s: %w", n.bridge, err)
	}
	want := netip.PrefixFrom(n.gateway, n.subnet.Bits())
	for _, a := range addrs {
		p, ok := netipPrefix(a.IPNet)
		if ok && p == want {
			return nil
		}
		if ok {
			return fmt.Errorf("%w: bridge %s has address %s, not the subnet %s: use --subnet %s, or another --bridge", ErrInvalid, n.bridge, p, n.subnet, p.Masked())
		}
	}
	addr := &netlink.Addr{IPNet: ipNet(want)}
	if err := h.AddrAdd(l, addr); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("add address %s to bridge %s: %w", want, n.bridge, err)
	}
	return nil
}

// checkOverlap refuses a subnet that a route of another interface covers:
// containers would be unreachable, or would hide part of the LAN.
func (n *Network) checkOverlap(h *netlink.Handle) error {
	routes, err := retry(func() ([]netlink.Route, error) { return h.RouteList(nil, netlink.FAMILY_ALL) })
	if err != nil {
		return fmt.Errorf("list routes: %w", err)
	}
	for _, r := range routes {
		p, ok := netipPrefix(r.Dst)
		if !ok || p.Bits() == 0 || !(p.Overlaps(n.subnet) || n.subnet6.IsValid() && p.Overlaps(n.subnet6)) {
			continue
		}
		dev := "?"
		if l, err := h.LinkByIndex(r.LinkIndex); err == nil {
			dev = l.Attrs().Name
		}
		sub := n.subnet
		if !p.Overlaps(sub) {
			sub = n.subnet6
		}
		return fmt.Errorf("%w: %s overlaps the route %s on %s: choose another --subnet", ErrOverlap, sub, p, dev)
	}
	return nil
}

// uplinkMTU is the MTU of the interface of the default route (1500
// without one): containers must not send frames the uplink cannot carry.
func uplinkMTU(h *netlink.Handle) int {
	routes, err := retry(func() ([]netlink.Route, error) { return h.RouteList(nil, netlink.FAMILY_V4) })
	if err != nil {
		return 1500
	}
	for _, r := range routes {
		if p, ok := netipPrefix(r.Dst); (!ok || p.Bits() == 0) && r.LinkIndex > 0 {
			if l, err := h.LinkByIndex(r.LinkIndex); err == nil && l.Attrs().MTU > 0 {
				return l.Attrs().MTU
			}
		}
	}
	return 1500
}

// addVeth creates the container's veth pair for its interface
// eth<index>: the host side on the bridge, the peer made directly inside
// the namespace (so its name never clashes), both with the network's MTU.
func addVeth(h *netlink.Handle, id string, index int, br netlink.Link, ns vnetns.NsHandle, mtu int) error {
	v := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: vethName(id, index), MTU: mtu, MasterIndex: br.Attrs().Index, TxQLen: -1},
		PeerName:  ifName(index), PeerNamespace: netlink.NsFd(int(ns)), PeerMTU: uint32(mtu), PeerTxQLen: -1,
	}
	if err := h.LinkAdd(v); err != nil {
		return unsupported("veth", err)
	}
	l, err := h.LinkByName(v.Name)
	if err != nil {
		return fmt.Errorf("find veth %s: %w", v.Name, err)
	}
	if err := h.LinkSetAlias(l, vethAliasPrefix+id); err != nil {
		return fmt.Errorf("mark veth %s: %w", v.Name, err)
	}
	// Hairpin: a container reaching its own published port through the
	// host's address gets the answer back through the same bridge port.
	if err := h.LinkSetHairpin(l, true); err != nil {
		return fmt.Errorf("set hairpin mode on %s: %w", v.Name, err)
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("bring %s up: %w", v.Name, err)
	}
	return nil
}

// configureInside sets up the container's side of attachment a, through
// a handle opened in its namespace: lo and the interface up, the address,
// and with route the default route through the network's gateway (route6:
// the IPv6 one, on a dual-stack network). It records the interface's MAC
// address in a.
func configureInside(ns vnetns.NsHandle, a *Attachment, route, route6 bool) error {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("open netlink in the container's namespace: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo in the container's namespace: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	name := a.Interface()
	eth, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s in the container's namespace: %w", name, err)
	}
	if err := noAutoconf(ns, name); err != nil {
		return err
	}
	if err := h.AddrAdd(eth, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(a.IP, a.Subnet.Bits()))}); err != nil {
		return fmt.Errorf("add address %s: %w", a.IP, err)
	}
	if err := h.LinkSetUp(eth); err != nil {
		return fmt.Errorf("bring %s up: %w", name, err)
	}
	a.MAC = eth.Attrs().HardwareAddr.String()
	if a.IP6.IsValid() {
		if err := configureInside6(h, eth, a, route6); err != nil {
			return err
		}
	}
	if route {
		return setDefaultRoute(h, eth, a.Gateway)
	}
	return nil
}

// setDefaultRoute points the namespace's default route at gw through l
// (replacing another).
func setDefaultRoute(h *netlink.Handle, l netlink.Link, gw netip.Addr) error {
	if err := h.RouteReplace(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw.AsSlice()}); err != nil {
		return fmt.Errorf("add default route via %s: %w", gw, err)
	}
	return nil
}

// vethGoneWait is how long removeLinks waits for the kernel to take a
// container's veths away with its network namespace before it deletes
// them itself. The kernel frees namespaces from one work queue, in
// batches: about 4 ms on a quiet host, far longer when many namespaces go
// at once (a test suite, a fleet restart). Past this wait the explicit
// delete is no slower than it would have been.
const vethGoneWait = 25 * time.Millisecond

// removeLinks removes container id's network namespace (its mount at
// nsPath) and its host veths, eth0's to eth9's, found by the ID alone.
//
// The namespace goes first. Once nothing holds it, the kernel unregisters
// the interfaces in it, and a veth takes its peer with it: the host veths
// vanish about 4 ms later. An explicit RTM_DELLINK of a veth on a bridge
// takes 11-13 ms here, waiting for RCU grace periods under the RTNL lock,
// and was most of what a bridge added to a container's start and removal.
// So the veths are awaited, polling, and only one still there after
// vethGoneWait (the kernel is slow to get to it, something else still
// holds the namespace, or its mount could not be removed) is deleted. Either way none is left on return.
func removeLinks(h *netlink.Handle, id, nsPath string) error {
	var left []string
	for i := range MaxInterfaces {
		name := vethName(id, i)
		if _, err := h.LinkByName(name); err == nil {
			left = append(left, name)
		} else if !isNotFound(err) {
			return errors.Join(fmt.Errorf("find veth %s: %w", name, err), removeNS(nsPath))
		}
	}
	nsErr := removeNS(nsPath)
	gone := func(name string) bool {
		_, err := h.LinkByName(name)
		return isNotFound(err)
	}
	if nsErr == nil {
		deadline := time.Now().Add(vethGoneWait)
		for pause := 500 * time.Microsecond; len(left) > 0 && time.Now().Before(deadline); pause = min(2*pause, 4*time.Millisecond) {
			time.Sleep(pause)
			left = slices.DeleteFunc(left, gone)
		}
	}
	errs := []error{nsErr}
	for _, name := range left {
		errs = append(errs, delVeth(h, name))
	}
	return errors.Join(errs...)
}

// delVeth deletes a host veth by name; a missing one is no error.
func delVeth(h *netlink.Handle, name string) error {
	l, err := h.LinkByName(name)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find veth %s: %w", name, err)
	}
	if err := h.LinkDel(l); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete veth %s: %w", name, err)
	}
	return nil
}

// setSysctl writes a /proc/sys value of the host namespace when it differs.
func setSysctl(path, value string) error {
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == value {
		return nil
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("set %s to %s: %w", strings.TrimPrefix(path, "/proc/sys/"), value, err)
	}
	return nil
}

func netipPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), ones), true
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
