package container

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"

	"github.com/edgerun/edgerun/netns"
	"github.com/edgerun/edgerun/rootless"
	"github.com/edgerun/edgerun/specgen"
)

// Network modes of `run --network`.
const (
	NetworkBridge    = "bridge"
	NetworkHost      = "host"
	NetworkNone      = "none"
	networkContainer = "container:"
)

// NetOptions are the networking flags of run: --network, -p, -P, --ip
// and --network-alias.
type NetOptions struct {
	// Mode is --network: bridge, host, none, container:NAME or the name
	// of a user-defined network (network create); "" is none.
	Mode string
	// More are the further --network flags: user-defined networks (or
	// bridge) the container is also on, as eth1, eth2, ...
	More       []string `json:"more,omitempty"`
	Publish    []string // -p [HOSTIP:][HOSTPORT:]CONTAINERPORT[/PROTO], on the first network
	PublishAll bool     // -P: publish the image's ExposedPorts (and Expose) on free host ports
	IP         string   // --ip, on the first network
	IP6        string   `json:"ip6,omitempty"` // --ip6, on the first network (dual-stack)
	// Expose is --expose PORT[/PROTO] or START-END[/PROTO]: ports the
	// container says it serves, beside the image's EXPOSE (inspect's
	// Config.ExposedPorts, and -P publishes them); nothing is published.
	Expose []string `json:"expose,omitempty"`
	// Aliases (--network-alias) are more names of the container on each
	// of its user-defined networks; NetAliases, per network name, replace
	// them on that network (network connect --alias).
	Aliases    []string            `json:"aliases,omitempty"`
	NetAliases map[string][]string `json:"netAliases,omitempty"`
	// Bridge and Subnet choose the bridge network of a bridge-mode
	// container; "" is the runtime's (--bridge, --subnet). A container's
	// saved request names the one it got, so its replacement (update)
	// joins the same network whatever flags the update has.
	Bridge string `json:"bridge,omitempty"`
	Subnet string `json:"subnet,omitempty"`
}

// networks are the networks the options name, the first first.
func (no *NetOptions) networks() []string {
	mode := no.Mode
	if mode == "" {
		mode = NetworkNone
	}
	return append([]string{mode}, no.More...)
}

// aliasesOn are the container's aliases on network name.
func (no *NetOptions) aliasesOn(name string) []string {
	if a, ok := no.NetAliases[name]; ok {
		return a
	}
	return no.Aliases
}

// NetworkRecord is what a container's record keeps of its network.
type NetworkRecord struct {
	// Mode is the first network: bridge, host, none, container:NAME or a
	// user-defined network's name.
	Mode string `json:"mode"`
	// Bridge is the attachment of a bridge-mode container to its first
	// network (eth0 unless disconnected; it holds the published ports):
	// what any later command needs to tear it down.
	Bridge *netns.Attachment `json:"bridge,omitempty"`
	// More are its attachments to further networks (eth1, eth2, ...).
	More []*netns.Attachment `json:"more,omitempty"`
}

// Attachments are all of the container's attachments, the first first.
func (n *NetworkRecord) Attachments() []*netns.Attachment {
	if n.Bridge == nil {
		return nil
	}
	return append([]*netns.Attachment{n.Bridge}, n.More...)
}

// setAttachments records as (the first becomes Bridge) and the mode.
func (n *NetworkRecord) setAttachments(as []*netns.Attachment) {
	n.Bridge, n.More = nil, nil
	if len(as) > 0 {
		n.Bridge, n.More = as[0], slices.Clone(as[1:])
		n.Mode = networkName(as[0])
	}
}

// Names are the names of the container's networks, as ps shows them.
func (n *NetworkRecord) Names() []string {
	as := n.Attachments()
	if len(as) == 0 {
		return []string{n.Mode}
	}
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = networkName(a)
	}
	return out
}

// bridges are the bridges of the container's attachments.
func (n *NetworkRecord) bridges() []string {
	var out []string
	for _, a := range n.Attachments() {
		out = append(out, a.Bridge)
	}
	return out
}

// networkName is the name of an attachment's network: bridge for the
// default one.
func networkName(a *netns.Attachment) string {
	if a.Network != "" {
		return a.Network
	}
	return NetworkBridge
}

// joinPath is the network namespace of another container (--network
// container:NAME): its persistent one, or its running process's.
func (r *Runtime) joinPath(ref string) (string, error) {
	rec, err := r.lookup(ref)
	if err != nil {
		return "", fmt.Errorf("--network container:%s: %w", ref, err)
	}
	if rec.Network.Mode == NetworkHost {
		return "", fmt.Errorf("%w: --network container:%s: that container uses the host network: use --network host", specgen.ErrInvalidOption, ref)
	}
	if b := rec.Network.Bridge; b != nil {
		if _, err := os.Stat(b.NetNS); err == nil {
			return b.NetNS, nil
		}
	}
	r.refresh(rec)
	if rec.State != StateRunning || rec.Pid == 0 {
		return "", fmt.Errorf("%w: --network container:%s: the container is not running: start it first", specgen.ErrInvalidOption, ref)
	}
	return "/proc/" + strconv.Itoa(rec.Pid) + "/ns/net", nil
}

// network opens the bridge network of the --bridge and --subnet settings.
func (r *Runtime) network() (*netns.Network, error) {
	n, err := netns.Open(r.netConfig(r.cfg.Bridge, r.cfg.Subnet))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
	}
	return n, nil
}

// netConfig is the network configuration of bridge and subnet ("" for the
// defaults). Rootless, the bridge lives in the session's network namespace.
func (r *Runtime) netConfig(bridge, subnet string) netns.Config {
	c := netns.Config{Root: r.cfg.Root, State: r.cfg.State, Bridge: bridge, Subnet: subnet}
	if s := r.session(); s != nil {
		c.NS = s.NetNSPath()
	}
	return c
}

// session is the rootless session edgerun runs in, nil as root.
func (r *Runtime) session() *rootless.Session {
	if !r.cfg.Rootless {
		return nil
	}
	r.sessionOnce.Do(func() { r.sess = rootless.Current() })
	return r.sess
}

// publish forwards a rootless container's published ports from the host
// into the session (slirp4netns); the returned undo ends them again.
func (r *Runtime) publish(ports []netns.PortMapping) error {
	s := r.session()
	if s == nil {
		return nil
	}
	for i, p := range ports {
		if err := s.AddPort(forward(p), r.cfg.Root); err != nil {
			_ = r.unpublish(ports[:i])
			return err
		}
	}
	return nil
}

// unpublish ends the forwards of publish; missing ones are not errors.
func (r *Runtime) unpublish(ports []netns.PortMapping) error {
	s := r.session()
	if s == nil || len(ports) == 0 {
		return nil
	}
	var errs []error
	for _, p := range ports {
		errs = append(errs, s.RemovePort(forward(p)))
	}
	return errors.Join(errs...)
}

func forward(p netns.PortMapping) rootless.Port {
	f := rootless.Port{Proto: p.Proto, HostPort: int(p.HostPort)}
	if p.HostIP.IsValid() && !p.HostIP.IsUnspecified() {
		f.HostIP = p.HostIP.String()
	}
	return f
}

// anyNetwork opens the network state for teardown and reclaim, which use
// the bridge recorded with each container, so bad --bridge or --subnet
// settings must not stop them.
func (r *Runtime) anyNetwork() *netns.Network {
	if n, err := r.network(); err == nil {
		return n
	}
	n, _ := netns.Open(r.netConfig("", ""))
	return n
}

// attached is the network a created container has: what its record keeps,
// the namespace its spec joins and its own addresses (for /etc/hosts).
type attached struct {
	rec   NetworkRecord
	host  bool   // the host's network namespace
	netns string // a namespace to join; "" with host, or a new one
	addrs []netip.Addr
}

// attachNetwork makes the planned network of container id; volatile says
// it goes with the container (--rm). The returned undo removes it again.
func (r *Runtime) attachNetwork(ctx context.Context, id string, p *netPlan, volatile bool) (attached, func(), error) {
	at := attached{rec: NetworkRecord{Mode: p.mode}, host: p.mode == NetworkHost, netns: p.join}
	if len(p.eps) == 0 {
		return at, func() {}, nil
	}
	// A lease is live while its container has a record or is being made
	// by a live process (containerExists).
	as, err := netns.SetupAll(ctx, netns.SetupOptions{ID: id, Ports: p.ports, Alive: r.containerExists, Volatile: volatile,
		Notice: r.cfg.Notice}, p.eps)
	if err != nil {
		return at, nil, err
	}
	n := p.eps[0].Net
	at.rec.setAttachments(as)
	bridges := at.rec.bridges()
	if err := r.publish(as[0].Ports); err != nil {
		_ = n.Teardown(id, bridges...)
		return at, nil, err
	}
	at.netns = as[0].NetNS
	for _, a := range as {
		at.addrs = append(at.addrs, a.IP)
		if a.IP6.IsValid() {
			at.addrs = append(at.addrs, a.IP6)
		}
	}
	return at, func() { _ = errors.Join(r.unpublish(as[0].Ports), n.Teardown(id, bridges...)) }, nil
}

// detachNetwork tears down a container's bridge attachments and drops it
// from its peers' hosts files.
func (r *Runtime) detachNetwork(rec *Record) error {
	b := rec.Network.Bridge
	if b == nil {
		return nil
	}
	n := r.anyNetwork()
	if n == nil {
		return nil
	}
	bridges := rec.Network.bridges()
	err := errors.Join(r.unpublish(b.Ports), n.Teardown(rec.ID, bridges...))
	return errors.Join(err, r.refreshPeerHosts(bridges, rec.ID))
}

// reclaimNetwork removes the network state of containers that are gone.
func (r *Runtime) reclaimNetwork(present map[string]bool) error {
	n := r.anyNetwork()
	if n == nil {
		return nil
	}
	alive := func(id string) bool { return present[id] || r.containerExists(id) }
	return errors.Join(n.Reclaim(alive), r.reclaimForwards(n))
}

// reclaimForwards ends the rootless session's port forwards that no live
// container has published (a killed edgerun between publishing and
// recording, or removing).
func (r *Runtime) reclaimForwards(n *netns.Network) error {
	s := r.session()
	if s == nil || s.NetworkAPI == "" {
		return nil
	}
	held, err := n.PublishedPorts(r.containerExists)
	if err != nil {
		return err
	}
	return s.ReclaimPorts(r.cfg.Root, func(proto string, port int) bool {
		for _, p := range held {
			if p.Proto == proto && int(p.HostPort) == port {
				return true
			}
		}
		return false
	})
}

// ensureNetwork gives a bridge container whose network namespace is gone
// (a reboot) its networks again before it starts: every attachment on
// the same interface, with the same address, aliases and published ports
// when they are still free. Restarts within a boot find the namespace in
// place and change nothing.
func (r *Runtime) ensureNetwork(ctx context.Context, rec *Record) error {
	old := rec.Network.Attachments()
	if len(old) == 0 || netns.Mounted(old[0].NetNS) {
		return nil
	}
	fail := func(err error) error { return fmt.Errorf("restore the network of container %s: %w", rec.Name, err) }
	eps := make([]netns.Endpoint, len(old))
	for i, a := range old {
		n, err := r.attachedNetwork(a)
		if err != nil {
			return fail(err)
		}
		eps[i] = netns.Endpoint{Net: n, Index: a.Index, IP: a.IP, IP6: a.IP6, Aliases: a.Aliases}
	}
	// Whatever is left of the old attachments goes first (their leases too).
	if err := eps[0].Net.Teardown(rec.ID, rec.Network.bridges()...); err != nil {
		return fail(err)
	}
	as, err := netns.SetupAll(ctx, netns.SetupOptions{ID: rec.ID, Ports: old[0].Ports, Alive: r.containerExists}, eps)
	if err != nil {
		return fail(err)
	}
	if err := r.publish(as[0].Ports); err != nil {
		return fail(err)
	}
	rec.Network.setAttachments(as)
	if err := r.saveRecord(rec); err != nil {
		return err
	}
	// Names at the addresses it has now, and its own peers section whole
	// again: a power cut may have torn it (netns.RewritePeers).
	_ = r.refreshPeerHosts(rec.Network.bridges(), "") // best effort, as at create
	return nil
}

// attachedNetwork opens the network of an attachment: the default bridge
// it was made on, or its user-defined network.
func (r *Runtime) attachedNetwork(a *netns.Attachment) (*netns.Network, error) {
	if a.Network == "" {
		return netns.Open(r.netConfig(a.Bridge, a.Subnet.String()))
	}
	d, err := r.netStore().Get(a.Network)
	if err != nil {
		return nil, fmt.Errorf("%w: disconnect the container from it (edgerun network disconnect %s CONTAINER) or create it again", err, a.Network)
	}
	if d.Bridge != a.Bridge {
		return nil, fmt.Errorf("%w: network %s was removed and made again: disconnect the container from it and connect it again", netns.ErrNoSuchNetwork, a.Network)
	}
	return r.netStore().Network(d)
}

// Ports is the published ports as ps shows them, docker's way:
// 0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp.
func (rec *Record) Ports() string { return rec.Network.Bridge.PublishedPorts() }
