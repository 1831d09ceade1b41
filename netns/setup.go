package netns

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// SetupOptions describe one container's attachment to the bridge.
type SetupOptions struct {
	ID    string        // container ID (random hex, at least 13 characters)
	IP    netip.Addr    // --ip; invalid: the next free address
	Ports []PortMapping // published ports; HostPort 0: a free port is picked
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

// Attachment is what a container got from Setup. It is stored in the
// container's record; Teardown needs only the ID and Bridge.
type Attachment struct {
	Bridge   string        `json:"bridge"`
	NetNS    string        `json:"netns"`
	HostVeth string        `json:"hostVeth"`
	IP       netip.Addr    `json:"ip"`
	Gateway  netip.Addr    `json:"gateway"`
	Subnet   netip.Prefix  `json:"subnet"`
	MTU      int           `json:"mtu"`
	Ports    []PortMapping `json:"ports,omitempty"`
}

// Setup gives container o.ID its own network namespace, bind-mounted under
// the volatile root so it lives as long as the container (not its
// process): a veth pair into the bridge, an address, a default route, and
// DNAT rules for its published ports. Everything is checked before the
// container exists; on any error nothing of it is left.
func (n *Network) Setup(ctx context.Context, o SetupOptions) (a *Attachment, err error) {
	err = n.inNS(func() error {
		a, err = n.setup(ctx, o)
		return err
	})
	return a, err
}

func (n *Network) setup(ctx context.Context, o SetupOptions) (_ *Attachment, retErr error) {
	if len(o.ID) < 13 || strings.ContainsAny(o.ID, "/.") {
		return nil, fmt.Errorf("%w: container id %q", ErrInvalid, o.ID)
	}
	if o.IP.IsValid() {
		if err := n.checkAddr(o.IP); err != nil {
			return nil, err
		}
	}
	if o.Alive == nil {
		o.Alive = func(string) bool { return true }
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	defer h.Close()
	c, err := nftConn()
	if err != nil {
		return nil, err
	}
	defer c.CloseLasting()
	defer func() {
		if retErr != nil {
			_ = n.teardown(c, h, n.bridge, o.ID)
		}
	}()
	_, err = h.LinkByName(n.bridge)
	newBridge := isNotFound(err)
	a, br, err := n.prepare(ctx, h, c, o)
	if err != nil {
		return nil, err
	}
	fault.Point("network/after-lease")
	if err := createNS(a.NetNS); err != nil {
		return nil, err
	}
	ns, err := vnetns.GetFromPath(a.NetNS)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", a.NetNS, err)
	}
	defer ns.Close()
	if err := n.addVeth(h, o.ID, br, ns, a.MTU); err != nil {
		return nil, err
	}
	fault.Point("network/after-veth")
	if err := n.configureInside(ns, a.IP); err != nil {
		return nil, err
	}
	if err := n.addPortRules(c, o.ID, a.IP, a.Ports); err != nil {
		return nil, err
	}
	if newBridge && o.Notice != nil {
		n.noteForwardBlocks(o.Notice)
	}
	return a, nil
}

// prepare does what needs the network lock: the bridge, sysctls and table
// (idempotent), the address lease and the port leases.
func (n *Network) prepare(ctx context.Context, h *netlink.Handle, c *nftables.Conn, o SetupOptions) (*Attachment, netlink.Link, error) {
	lock, err := lockfile.Exclusive(ctx, n.lockPath())
	if err != nil {
		return nil, nil, fmt.Errorf("lock network state: %w", err)
	}
	defer lock.Unlock()
	mtu := uplinkMTU(h)
	br, err := n.ensureBridge(h, mtu)
	if err != nil {
		return nil, nil, err
	}
	// Forwarding is what NAT needs; route_localnet lets 127.0.0.1 reach a
	// published port (its DNATed packets leave through the bridge).
	if err := setSysctl("/proc/sys/net/ipv4/ip_forward", "1"); err != nil {
		return nil, nil, err
	}
	if err := setSysctl("/proc/sys/net/ipv4/conf/"+n.bridge+"/route_localnet", "1"); err != nil {
		return nil, nil, err
	}
	if err := n.ensureTable(c); err != nil {
		return nil, nil, err
	}
	ip, err := n.leaseIP(o.ID, o.IP, o.Alive, o.Volatile)
	if err != nil {
		return nil, nil, err
	}
	ports, err := n.leasePorts(o.ID, o.Ports, o.Alive, o.Volatile)
	if err != nil {
		return nil, nil, err
	}
	return &Attachment{
		Bridge: n.bridge, NetNS: n.nsPath(o.ID), HostVeth: vethName(o.ID), IP: ip,
		Gateway: n.gateway, Subnet: n.subnet, MTU: mtu, Ports: ports,
	}, br, nil
}

// Teardown removes everything Setup made for container id on bridge: its
// port rules, veth pair, namespace mount and leases. Missing pieces are
// not errors, so it also finishes an interrupted setup or teardown.
func (n *Network) Teardown(id, bridge string) error {
	return n.inNS(func() error { return n.teardownNow(id, bridge) })
}

func (n *Network) teardownNow(id, bridge string) error {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("open netlink: %w", err)
	}
	defer h.Close()
	c, err := nftConn()
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	return n.teardown(c, h, bridge, id)
}

func (n *Network) teardown(c *nftables.Conn, h *netlink.Handle, bridge, id string) error {
	var errs []error
	if bridge != "" {
		errs = append(errs, n.delPortRules(c, bridge, id))
	}
	errs = append(errs, delVeth(h, id), removeNS(n.nsPath(id)))
	if err := errors.Join(errs...); err != nil {
		return err // keep the leases: they mark what is left to clean
	}
	fault.Point("network/before-release")
	return n.releaseLeases(id)
}

// Reclaim tears down what containers that no longer exist left behind (a
// killed edgerun, a crash, a reboot): their leases, namespace mounts,
// veths and rules. Without stale leases or mounts it only reads the lease
// directories, each lease and the mount directory, and touches no kernel
// state.
func (n *Network) Reclaim(alive func(id string) bool) error {
	if err := n.removeLeaseTemps(); err != nil {
		return err
	}
	stale := map[string]string{} // id -> bridge ("" when unknown)
	leases, _ := filepath.Glob(filepath.Join(n.root, "*", "leases", "*"))
	for _, p := range leases {
		if id := readLease(p); id != "" && !alive(id) {
			stale[id] = filepath.Base(filepath.Dir(filepath.Dir(p)))
		}
	}
	ports, _ := filepath.Glob(filepath.Join(n.portDir(), "*"))
	for _, p := range ports {
		if id := readLease(p); id != "" && !alive(id) {
			if _, ok := stale[id]; !ok {
				stale[id] = ""
			}
		}
	}
	mounts, err := os.ReadDir(n.state)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range mounts {
		if id := e.Name(); !alive(id) {
			if _, ok := stale[id]; !ok {
				stale[id] = ""
			}
		}
	}
	if len(stale) == 0 {
		return nil
	}
	var errs []error
	for id, bridge := range stale {
		errs = append(errs, n.Teardown(id, bridge))
	}
	return errors.Join(errs...)
}

// RemoveBridge deletes the bridge, its nftables table and its lease
// directory. It refuses while a container (alive) holds an address on it.
func (n *Network) RemoveBridge(alive func(id string) bool) error {
	return n.inNS(func() error { return n.removeBridge(alive) })
}

func (n *Network) removeBridge(alive func(id string) bool) error {
	lock, err := lockfile.Exclusive(context.Background(), n.lockPath())
	if err != nil {
		return fmt.Errorf("lock network state: %w", err)
	}
	defer lock.Unlock()
	ls, err := n.Leases()
	if err != nil {
		return err
	}
	for _, l := range ls {
		if alive(l.ID) {
			return fmt.Errorf("bridge %s is in use by container %.12s: remove it first", n.bridge, l.ID)
		}
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("open netlink: %w", err)
	}
	defer h.Close()
	// Ownership first: the table's name comes from the bridge's alone, so
	// another edgerun root's bridge of that name has its rules there.
	l, linkErr := h.LinkByName(n.bridge)
	if linkErr == nil && l.Attrs().Alias != n.ownerAlias() {
		return fmt.Errorf("%w: %s is not this edgerun's bridge", ErrBridgeTaken, n.bridge)
	}
	c, err := nftConn()
	if err != nil {
		return err
	}
	defer c.CloseLasting()
	var errs []error
	c.DelTable(n.table(n.bridge))
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		errs = append(errs, nftError(err))
	}
	if linkErr == nil {
		errs = append(errs, h.LinkDel(l))
	}
	errs = append(errs, os.RemoveAll(n.bridgeDir(n.bridge)))
	return errors.Join(errs...)
}

// Restore sets the network of container id up again when its namespace is
// gone (the host rebooted: /run is empty, the veth and rules went with
// it): the same address and published ports when they are still free.
// With the namespace in place it changes nothing and returns a itself.
func Restore(ctx context.Context, cfg Config, id string, a *Attachment, alive func(id string) bool) (*Attachment, error) {
	if a == nil || Mounted(a.NetNS) {
		return a, nil
	}
	cfg.Bridge, cfg.Subnet = a.Bridge, a.Subnet.String()
	n, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	// Whatever is left of the old attachment goes first (its leases too).
	if err := n.Teardown(id, a.Bridge); err != nil {
		return nil, err
	}
	return n.Setup(ctx, SetupOptions{ID: id, IP: a.IP, Ports: a.Ports, Alive: alive})
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
