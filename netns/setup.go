package netns

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// SetupOptions describe one container's attachment to its networks.
type SetupOptions struct {
	ID    string        // container ID (random hex, at least 13 characters)
	IP    netip.Addr    // --ip (Network.Setup); invalid: the next free address
	Ports []PortMapping // published ports, on the first network; HostPort 0: a free port is picked
	// Alive reports whether a container still exists; leases of containers
	// that do not are stale and reused. Nil treats every lease as live.
	Alive func(id string) bool
	// Volatile skips the fsyncs of the lease files, for a container that
	// cannot outlive a reboot anyway (run --rm): after a power cut its
	// leases are at worst empty files, which count as free.
	Volatile bool
	// Notice receives a note for the user when this setup made the bridge
	// and a forward chain of the host's firewall drops its traffic (once
	// per bridge, not on every run: only then is the ruleset read).
	Notice func(string)
}

// Endpoint is one network of a container (SetupAll, Connect): its
// interface eth<Index> on Net's bridge.
type Endpoint struct {
	Net     *Network
	Index   int        // 0-9: eth0-eth9
	IP      netip.Addr // invalid: the next free address
	IP6     netip.Addr // --ip6 on a dual-stack network; invalid: the next free IPv6 address
	Aliases []string   // more names its peers on Net know it by (recorded; /etc/hosts is the caller's)
}

// Attachment is what a container got on one network. It is stored in the
// container's record; Teardown needs only the ID and the bridges.
type Attachment struct {
	Bridge   string        `json:"bridge"`
	NetNS    string        `json:"netns"`
	HostVeth string        `json:"hostVeth"`
	IP       netip.Addr    `json:"ip"`
	Gateway  netip.Addr    `json:"gateway"`
	Subnet   netip.Prefix  `json:"subnet"`
	MTU      int           `json:"mtu"`
	Ports    []PortMapping `json:"ports,omitempty"`
	// Network is the user-defined network's name; "" is the default bridge.
	Network  string   `json:"network,omitempty"`
	Index    int      `json:"index,omitempty"` // the container's interface is eth<Index>
	MAC      string   `json:"mac,omitempty"`
	Aliases  []string `json:"aliases,omitempty"`
	Internal bool     `json:"internal,omitempty"`
	// IP6, Gateway6 and Subnet6: the container's IPv6 address on a
	// dual-stack network (network create --ipv6); invalid otherwise.
	IP6      netip.Addr   `json:"ip6,omitzero"`
	Gateway6 netip.Addr   `json:"gateway6,omitzero"`
	Subnet6  netip.Prefix `json:"subnet6,omitzero"`
}

// Interface is the container's interface on the network: eth<Index>.
func (a *Attachment) Interface() string { return ifName(a.Index) }

// Setup gives container o.ID its own network namespace on this network
// alone, as eth0 (see SetupAll).
func (n *Network) Setup(ctx context.Context, o SetupOptions) (*Attachment, error) {
	as, err := SetupAll(ctx, o, []Endpoint{{Net: n, IP: o.IP}})
	if err != nil {
		return nil, err
	}
	return as[0], nil
}

// SetupAll gives container o.ID its own network namespace, bind-mounted
// under the volatile root so it lives as long as the container (not its
// process), and in it an interface on each network: a veth pair into the
// network's bridge and an address; a default route through the first
// network that is not internal; DNAT rules for its published ports, to
// its address on the first network. Every network shares the first's
// roots and namespace. Everything is checked before the container
// exists; on any error nothing of it is left.
func SetupAll(ctx context.Context, o SetupOptions, eps []Endpoint) (as []*Attachment, err error) {
	if len(eps) == 0 {
		return nil, fmt.Errorf("%w: no network to attach container %.12s to", ErrInvalid, o.ID)
	}
	err = eps[0].Net.inNS(func() error {
		as, err = setupAll(ctx, o, eps)
		return err
	})
	return as, err
}

func setupAll(ctx context.Context, o SetupOptions, eps []Endpoint) (_ []*Attachment, retErr error) {
	if err := checkEndpoints(o, eps); err != nil {
		return nil, err
	}
	if o.Alive == nil {
		o.Alive = func(string) bool { return true }
	}
	n := eps[0].Net
	h, c, err := openKernel()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	defer c.CloseLasting()
	defer func() {
		if retErr != nil {
			_ = n.teardown(c, h, bridgesOf(eps), o.ID)
		}
	}()
	var newBridges []*Network // to check against the host's firewall once made
	for _, ep := range eps {
		if _, err := h.LinkByName(ep.Net.bridge); isNotFound(err) && !ep.Net.internal {
			newBridges = append(newBridges, ep.Net)
		}
	}
	as, links, err := prepare(ctx, h, c, o, eps)
	if err != nil {
		return nil, err
	}
	fault.Point("network/after-lease")
	if err := createNS(n.nsPath(o.ID)); err != nil {
		return nil, err
	}
	ns, err := vnetns.GetFromPath(n.nsPath(o.ID))
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", n.nsPath(o.ID), err)
	}
	defer ns.Close()
	for i, ep := range eps {
		if err := addVeth(h, o.ID, ep.Index, links[i], ns, as[i].MTU); err != nil {
			return nil, err
		}
	}
	fault.Point("network/after-veth")
	route := slices.IndexFunc(eps, func(ep Endpoint) bool { return !ep.Net.internal })
	route6 := slices.IndexFunc(eps, func(ep Endpoint) bool { return !ep.Net.internal && ep.Net.DualStack() })
	for i, a := range as {
		if err := configureInside(ns, a, i == route, i == route6); err != nil {
			return nil, err
		}
	}
	if err := n.addPortRules(c, o.ID, as[0], as[0].Ports); err != nil {
		return nil, err
	}
	if o.Notice != nil {
		for _, nb := range newBridges {
			nb.noteForwardBlocks(o.Notice)
		}
	}
	return as, nil
}

// checkEndpoints refuses what cannot be set up, before anything is.
func checkEndpoints(o SetupOptions, eps []Endpoint) error {
	if len(o.ID) < 13 || strings.ContainsAny(o.ID, "/.") {
		return fmt.Errorf("%w: container id %q", ErrInvalid, o.ID)
	}
	for i, ep := range eps {
		if ep.Index < 0 || ep.Index >= MaxInterfaces {
			return fmt.Errorf("%w: a container is on at most %d networks (eth0-eth%d)", ErrInvalid, MaxInterfaces, MaxInterfaces-1)
		}
		for _, q := range eps[:i] {
			if q.Index == ep.Index || q.Net.bridge == ep.Net.bridge {
				return fmt.Errorf("%w: network %s given twice, or two networks on eth%d", ErrInvalid, ep.Net.label(), ep.Index)
			}
		}
		if ep.IP.IsValid() {
			if err := ep.Net.checkAddr(ep.IP); err != nil {
				return err
			}
		}
		if ep.IP6.IsValid() {
			if err := ep.Net.checkAddr6(ep.IP6); err != nil {
				return err
			}
		}
	}
	for _, p := range o.Ports {
		if p.HostIP.Is6() && !eps[0].Net.DualStack() {
			return fmt.Errorf("%w: -p %s: network %s has no IPv6 (create it with --ipv6): publish on an IPv4 address, or give a dual-stack network first", ErrInvalid, p, eps[0].Net.label())
		}
	}
	if len(o.Ports) > 0 && eps[0].Net.internal {
		return fmt.Errorf("%w: -p: network %s is internal (no way in or out): publish ports on another network, given first", ErrInvalid, eps[0].Net.label())
	}
	return nil
}

// label names the network in messages: its name, or the default bridge's.
func (n *Network) label() string {
	if n.name != "" {
		return n.name
	}
	return "bridge (" + n.bridge + ")"
}

func bridgesOf(eps []Endpoint) []string {
	out := make([]string, len(eps))
	for i, ep := range eps {
		out[i] = ep.Net.bridge
	}
	return out
}

// openKernel opens the netlink and nftables sockets of this thread's
// network namespace.
func openKernel() (*netlink.Handle, *nftables.Conn, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, nil, fmt.Errorf("open netlink: %w", err)
	}
	c, err := nftConn()
	if err != nil {
		h.Close()
		return nil, nil, err
	}
	return h, c, nil
}

// prepare does what needs the network lock: each network's bridge,
// sysctls and table (idempotent), the address leases and the port leases.
func prepare(ctx context.Context, h *netlink.Handle, c *nftables.Conn, o SetupOptions, eps []Endpoint) ([]*Attachment, []netlink.Link, error) {
	n := eps[0].Net
	lock, err := lockfile.Exclusive(ctx, n.lockPath())
	if err != nil {
		return nil, nil, fmt.Errorf("lock network state: %w", err)
	}
	defer lock.Unlock()
	as := make([]*Attachment, len(eps))
	links := make([]netlink.Link, len(eps))
	for i, ep := range eps {
		a, br, err := ep.Net.prepareOne(h, c, o, ep)
		if err != nil {
			return nil, nil, err
		}
		as[i], links[i] = a, br
	}
	ports, err := n.leasePorts(o.ID, o.Ports, o.Alive, o.Volatile)
	if err != nil {
		return nil, nil, err
	}
	as[0].Ports = ports
	return as, links, nil
}

// prepareOne makes the network's bridge, sysctls and table and leases the
// container's address on it. The network lock is held.
func (n *Network) prepareOne(h *netlink.Handle, c *nftables.Conn, o SetupOptions, ep Endpoint) (*Attachment, netlink.Link, error) {
	if err := n.checkDefined(); err != nil {
		return nil, nil, err
	}
	br, mtu, err := n.ensureInfra(h, c)
	if err != nil {
		return nil, nil, err
	}
	ip, err := n.leaseIP(o.ID, ep.IP, o.Alive, o.Volatile)
	if err != nil {
		return nil, nil, err
	}
	a := &Attachment{
		Bridge: n.bridge, NetNS: n.nsPath(o.ID), HostVeth: vethName(o.ID, ep.Index), IP: ip,
		Gateway: n.gateway, Subnet: n.subnet, MTU: mtu, Network: n.name, Index: ep.Index,
		Aliases: ep.Aliases, Internal: n.internal,
	}
	if n.DualStack() {
		if a.IP6, err = n.leaseIP6(o.ID, ep.IP6, o.Alive, o.Volatile); err != nil {
			return nil, nil, err
		}
		a.Gateway6, a.Subnet6 = n.gateway6, n.subnet6
	}
	return a, br, nil
}

// ensureInfra makes the bridge (with the network's MTU, else the
// uplink's), the sysctls and the table, when missing. The network lock is
// held.
func (n *Network) ensureInfra(h *netlink.Handle, c *nftables.Conn) (netlink.Link, int, error) {
	mtu := n.mtu
	if mtu == 0 {
		mtu = uplinkMTU(h)
	}
	br, err := n.ensureBridge(h, mtu)
	if err != nil {
		return nil, 0, err
	}
	// Forwarding is what NAT needs; route_localnet lets 127.0.0.1 reach a
	// published port (its DNATed packets leave through the bridge).
	if err := setSysctl("/proc/sys/net/ipv4/ip_forward", "1"); err != nil {
		return nil, 0, err
	}
	if err := setSysctl("/proc/sys/net/ipv4/conf/"+n.bridge+"/route_localnet", "1"); err != nil {
		return nil, 0, err
	}
	if n.DualStack() {
		if err := n.ensureIPv6(h, br); err != nil {
			return nil, 0, err
		}
	}
	if err := n.ensureTable(c); err != nil {
		return nil, 0, err
	}
	return br, mtu, nil
}

// PublishedPorts is the published ports as ps shows them, docker's way:
// 0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp, ranges as
// 0.0.0.0:8000-8010->8000-8010/tcp; "" for none (or no attachment).
func (a *Attachment) PublishedPorts() string {
	if a == nil {
		return ""
	}
	return FormatPorts(a.Ports)
}
