package container

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/internal/ids"
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
	PublishAll bool     // -P: publish the image's ExposedPorts on free host ports
	IP         string   // --ip, on the first network
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

// netPlan is the validated network request of a run, made before anything
// exists.
type netPlan struct {
	mode  string
	ports []netns.PortMapping
	join  string           // netns path to join (container:NAME)
	eps   []netns.Endpoint // the bridge networks, eth0 first
}

// planNetwork validates the network flags against the mode and the image:
// the one place --network is checked.
func (r *Runtime) planNetwork(no *NetOptions, img *image.Image) (*netPlan, error) {
	names := no.networks()
	mode := names[0]
	p := &netPlan{mode: mode}
	if mode == NetworkNone || mode == NetworkHost || strings.HasPrefix(mode, networkContainer) {
		if len(names) > 1 {
			return nil, fmt.Errorf("%w: --network %s cannot be combined with other networks", specgen.ErrInvalidOption, mode)
		}
		if len(no.Publish) > 0 || no.PublishAll || no.IP != "" || len(no.Aliases) > 0 {
			return nil, fmt.Errorf("%w: -p, -P, --ip and --network-alias need a bridge network (with --network %s the container has no address of its own)", specgen.ErrInvalidOption, mode)
		}
		if strings.HasPrefix(mode, networkContainer) {
			path, err := r.joinPath(strings.TrimPrefix(mode, networkContainer))
			if err != nil {
				return nil, err
			}
			p.join = path
		}
		return p, nil
	}
	if err := r.checkRootlessBridge(); err != nil {
		return nil, err
	}
	if len(names) > netns.MaxInterfaces {
		return nil, fmt.Errorf("%w: --network: a container is on at most %d networks", specgen.ErrInvalidOption, netns.MaxInterfaces)
	}
	user := false
	for i, name := range names {
		n, err := r.openNetwork(name, no)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(p.eps, func(e netns.Endpoint) bool { return e.Net.Bridge() == n.Bridge() }) {
			return nil, fmt.Errorf("%w: --network %s is given twice", specgen.ErrInvalidOption, name)
		}
		ep := netns.Endpoint{Net: n, Index: i}
		if n.Name() != "" {
			user, ep.Aliases = true, no.aliasesOn(n.Name())
		}
		p.eps = append(p.eps, ep)
	}
	if err := checkAliases("--network-alias", no.Aliases, user); err != nil {
		return nil, err
	}
	p.mode = netName(p.eps[0].Net)
	var err error
	if p.ports, err = planPorts(no, img, r.cfg.Rootless); err != nil {
		return nil, err
	}
	if len(p.ports) > 0 && p.eps[0].Net.Internal() {
		return nil, fmt.Errorf("%w: -p: network %s is internal (no way in or out): give a network that is not first with --network", specgen.ErrInvalidOption, p.mode)
	}
	if no.IP != "" {
		if p.eps[0].IP, err = p.eps[0].Net.ParseIP(no.IP); err != nil {
			return nil, fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
		}
	}
	return p, nil
}

// netName is the name of a network: bridge for the default one.
func netName(n *netns.Network) string {
	if n.Name() != "" {
		return n.Name()
	}
	return NetworkBridge
}

// checkRootlessBridge refuses bridge networks in a rootless session
// without slirp4netns.
func (r *Runtime) checkRootlessBridge() error {
	if s := r.session(); r.cfg.Rootless && (s == nil || s.NetworkAPI == "") {
		why := "its session is gone"
		if s != nil {
			why = s.NetworkError
		}
		return fmt.Errorf("%w: the bridge networks of rootless containers need slirp4netns (%s): use --network none or host, or install slirp4netns (apt install slirp4netns) and run the command again", specgen.ErrInvalidOption, why)
	}
	return nil
}

// openNetwork opens the bridge network name: the default one (bridge,
// with the request's own bridge and subnet when it has them) or a
// user-defined one.
func (r *Runtime) openNetwork(name string, no *NetOptions) (*netns.Network, error) {
	if name == NetworkBridge {
		if no != nil && no.Bridge != "" {
			return netns.Open(r.netConfig(no.Bridge, no.Subnet))
		}
		return r.network()
	}
	d, err := r.netStore().Get(name)
	if err != nil {
		if errors.Is(err, netns.ErrNoSuchNetwork) {
			return nil, fmt.Errorf("%w: --network %q: use bridge, host, none, container:NAME or a network of edgerun network ls: %w", specgen.ErrInvalidOption, name, err)
		}
		return nil, err
	}
	return r.netStore().Network(d)
}

// checkAliases refuses --network-alias names that are no host names, and
// aliases without a user-defined network (docker's rule: the default
// bridge has none).
func checkAliases(flag string, aliases []string, user bool) error {
	if len(aliases) > 0 && !user {
		return fmt.Errorf("%w: %s needs a user-defined network (edgerun network create): the default bridge has no aliases", specgen.ErrInvalidOption, flag)
	}
	for _, a := range aliases {
		if len(a) > 253 || !ids.ValidName(a) {
			return fmt.Errorf("%w: %s %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", specgen.ErrInvalidOption, flag, a)
		}
	}
	return nil
}

// planPorts plans -p and -P against the image's exposed ports.
func planPorts(no *NetOptions, img *image.Image, rootlessMode bool) ([]netns.PortMapping, error) {
	exposed := make([]string, 0, len(img.Config.Config.ExposedPorts))
	for k := range img.Config.Config.ExposedPorts {
		exposed = append(exposed, k)
	}
	ports, err := netns.PlanPorts(no.Publish, no.PublishAll, exposed)
	if err != nil {
		return nil, err
	}
	if rootlessMode {
		for _, pm := range ports {
			if pm.HostPort != 0 {
				if err := rootless.CheckPort(int(pm.HostPort)); err != nil {
					return nil, fmt.Errorf("%w: -p: %w", specgen.ErrInvalidOption, err)
				}
			}
		}
	}
	return ports, nil
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
	as, err := netns.SetupAll(ctx, netns.SetupOptions{ID: id, Ports: p.ports, Alive: r.containerExists, Volatile: volatile}, p.eps)
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
func (r *Runtime) reclaimNetwork() error {
	n := r.anyNetwork()
	if n == nil {
		return nil
	}
	return errors.Join(n.Reclaim(r.containerExists), r.reclaimForwards(n))
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
		eps[i] = netns.Endpoint{Net: n, Index: a.Index, IP: a.IP, Aliases: a.Aliases}
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
	return r.saveRecord(rec)
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
