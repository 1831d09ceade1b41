package container

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/internal/lockfile"
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

// NetOptions are the networking flags of run: --network, -p, -P and --ip.
type NetOptions struct {
	// Mode is --network: bridge, host, none or container:NAME; "" is none.
	Mode       string
	Publish    []string // -p [HOSTIP:][HOSTPORT:]CONTAINERPORT[/PROTO]
	PublishAll bool     // -P: publish the image's ExposedPorts (and Expose) on free host ports
	IP         string   // --ip
	// Expose is --expose PORT[/PROTO] or START-END[/PROTO]: ports the
	// container says it serves, beside the image's EXPOSE (inspect's
	// Config.ExposedPorts, and -P publishes them); nothing is published.
	Expose []string `json:"expose,omitempty"`
	// Bridge and Subnet choose the bridge network of a bridge-mode
	// container; "" is the runtime's (--bridge, --subnet). A container's
	// saved request names the one it got, so its replacement (update)
	// joins the same network whatever flags the update has.
	Bridge string `json:"bridge,omitempty"`
	Subnet string `json:"subnet,omitempty"`
}

// NetworkRecord is what a container's record keeps of its network.
type NetworkRecord struct {
	Mode string `json:"mode"`
	// Bridge is the attachment of a bridge-mode container: what any later
	// command needs to tear it down.
	Bridge *netns.Attachment `json:"bridge,omitempty"`
}

// netPlan is the validated network request of a run, made before anything
// exists.
type netPlan struct {
	mode  string
	ports []netns.PortMapping
	ip    netip.Addr
	join  string // netns path to join (container:NAME)
	net   *netns.Network
}

// planNetwork validates the network flags against the mode and the image:
// the one place --network is checked.
func (r *Runtime) planNetwork(no *NetOptions, img *image.Image) (*netPlan, error) {
	mode := no.Mode
	if mode == "" {
		mode = NetworkNone
	}
	p := &netPlan{mode: mode}
	bridgeOnly := len(no.Publish) > 0 || no.PublishAll || no.IP != ""
	switch {
	case mode == NetworkBridge:
	case mode == NetworkNone || mode == NetworkHost || strings.HasPrefix(mode, networkContainer):
		if bridgeOnly {
			return nil, fmt.Errorf("%w: -p, -P and --ip need --network bridge (with --network %s the container has no address of its own)", specgen.ErrInvalidOption, mode)
		}
		if strings.HasPrefix(mode, networkContainer) {
			path, err := r.joinPath(strings.TrimPrefix(mode, networkContainer))
			if err != nil {
				return nil, err
			}
			p.join = path
		}
		return p, nil
	default:
		return nil, fmt.Errorf("%w: --network %q: use bridge, host, none or container:NAME", specgen.ErrInvalidOption, mode)
	}
	if s := r.session(); r.cfg.Rootless && (s == nil || s.NetworkAPI == "") {
		why := "its session is gone"
		if s != nil {
			why = s.NetworkError
		}
		return nil, fmt.Errorf("%w: the default network of rootless containers needs slirp4netns (%s): use --network none or host, or install slirp4netns (apt install slirp4netns) and run the command again", specgen.ErrInvalidOption, why)
	}
	n, err := r.network()
	if no.Bridge != "" {
		n, err = netns.Open(r.netConfig(no.Bridge, no.Subnet))
	}
	if err != nil {
		return nil, err
	}
	p.net = n
	exposed, err := no.exposed()
	if err != nil {
		return nil, err
	}
	for k := range img.Config.Config.ExposedPorts {
		exposed = append(exposed, k)
	}
	if p.ports, err = netns.PlanPorts(no.Publish, no.PublishAll, exposed); err != nil {
		return nil, err
	}
	if r.cfg.Rootless {
		for _, pm := range p.ports {
			if pm.HostPort != 0 {
				if err := rootless.CheckPort(int(pm.HostPort)); err != nil {
					return nil, fmt.Errorf("%w: -p: %w", specgen.ErrInvalidOption, err)
				}
			}
		}
	}
	if no.IP != "" {
		if p.ip, err = n.ParseIP(no.IP); err != nil {
			return nil, fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
		}
	}
	return p, nil
}

// exposed is --expose as ExposedPorts keys ("8080/tcp"), in order, each
// once; a bad value fails as a bad -p does (exit 125).
func (no *NetOptions) exposed() ([]string, error) {
	var out []string
	for _, e := range no.Expose {
		keys, err := netns.ParseExpose(e)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out, nil
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
	if p.mode != NetworkBridge {
		return at, func() {}, nil
	}
	// A lease is live while its container has a record or is being made
	// by a live process (containerExists).
	a, err := p.net.Setup(ctx, netns.SetupOptions{ID: id, IP: p.ip, Ports: p.ports, Alive: r.containerExists, Volatile: volatile,
		Notice: r.cfg.Notice})
	if err != nil {
		return at, nil, err
	}
	if err := r.publish(a.Ports); err != nil {
		_ = p.net.Teardown(id, a.Bridge)
		return at, nil, err
	}
	at.rec.Bridge, at.netns, at.addrs = a, a.NetNS, []netip.Addr{a.IP}
	return at, func() { _ = errors.Join(r.unpublish(a.Ports), p.net.Teardown(id, a.Bridge)) }, nil
}

// detachNetwork tears down a container's bridge attachment and drops it
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
	err := errors.Join(r.unpublish(b.Ports), n.Teardown(rec.ID, b.Bridge))
	return errors.Join(err, r.refreshPeerHosts(b.Bridge, rec.ID))
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

// PruneNetwork removes the configured bridge, its nftables table and its
// leases directory, unless a container still has an address on it.
func (r *Runtime) PruneNetwork() error {
	n, err := r.network()
	if err != nil {
		return err
	}
	if err := n.RemoveBridge(r.containerExists); err != nil {
		return err
	}
	r.appendEvent(events.Network, "destroy", n.Bridge(), map[string]string{"name": n.Bridge(), "type": "bridge"})
	return nil
}

// refreshPeerHosts rewrites the /etc/hosts of every container on bridge so
// each names all of them, itself included: containers reach each other by
// name without a DNS server. skip is a container being removed.
func (r *Runtime) refreshPeerHosts(bridge, skip string) error {
	n, err := netns.Open(r.netConfig(bridge, ""))
	if err != nil {
		return nil
	}
	lock, err := lockfile.Exclusive(context.Background(), filepath.Join(r.cfg.Root, "network", "hosts.lock"))
	if err != nil {
		return err
	}
	defer lock.Unlock()
	leases, err := n.Leases()
	if err != nil {
		return err
	}
	var peers []netns.Peer
	var recs []*Record
	for _, l := range leases {
		if l.ID == skip {
			continue
		}
		if rec, err := r.loadRecord(l.ID); err == nil {
			peers = append(peers, netns.Peer{IP: l.IP, Name: rec.Name, ID: l.ID})
			recs = append(recs, rec)
		}
	}
	section := netns.PeersSection(bridge, peers)
	var errs []error
	for _, rec := range recs {
		// A --rm container's files are not fsynced (see writeEtcFiles).
		errs = append(errs, netns.RewritePeers(filepath.Join(r.containerDir(rec.ID), "hosts"), section, !rec.AutoRemove))
	}
	return errors.Join(errs...)
}

// ensureNetwork gives a bridge container whose network namespace is gone
// (a reboot) its network again before it starts (netns.Restore). Restarts
// within a boot find the namespace in place and change nothing.
func (r *Runtime) ensureNetwork(ctx context.Context, rec *Record) error {
	b := rec.Network.Bridge
	a, err := netns.Restore(ctx, r.netConfig("", ""), rec.ID, b, r.containerExists)
	if err != nil {
		return fmt.Errorf("restore the network of container %s: %w", rec.Name, err)
	}
	if a == b {
		return nil
	}
	if err := r.publish(a.Ports); err != nil {
		return fmt.Errorf("restore the network of container %s: %w", rec.Name, err)
	}
	rec.Network.Bridge = a
	return r.saveRecord(rec)
}

// Ports is the published ports as ps shows them, docker's way:
// 0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp.
func (rec *Record) Ports() string { return rec.Network.Bridge.PublishedPorts() }
