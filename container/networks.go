package container

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/netns"
)

// The network commands (network create, ls, inspect, rm, prune): the
// user-defined networks of netns.Store, and docker's predefined bridge
// (the default bridge of --bridge and --subnet), host and none.

// netStore is the user-defined networks of this root.
func (r *Runtime) netStore() *netns.Store {
	return netns.OpenStore(r.netConfig(r.cfg.Bridge, r.cfg.Subnet))
}

// predefined are docker's predefined networks, which always exist.
var predefined = []string{NetworkBridge, NetworkHost, NetworkNone}

// predefinedID is a predefined network's ID: the same on every edgerun.
func predefinedID(name string) string {
	sum := sha256.Sum256([]byte("edgerun network " + name))
	return hex.EncodeToString(sum[:])
}

// CreateNetwork defines a user-defined network and makes its bridge.
func (r *Runtime) CreateNetwork(ctx context.Context, o netns.CreateOptions) (*netns.Definition, error) {
	if r.cfg.Rootless && o.IPv6 {
		return nil, fmt.Errorf("%w: --ipv6: rootless networks are IPv4 only (their traffic leaves through slirp4netns, which edgerun starts without IPv6): create the network without --ipv6, or as root", netns.ErrInvalid)
	}
	if r.cfg.Rootless {
		if err := r.checkRootlessBridge(); err != nil {
			return nil, err
		}
	}
	d, err := r.netStore().Create(ctx, o)
	if err == nil {
		r.appendEvent(events.Network, "create", d.ID, map[string]string{"name": d.Name, "type": "bridge"})
	}
	return d, err
}

// NetworkDoc is a network as docker's network inspect shows it, with
// edgerun's own fields under Edgerun.
type NetworkDoc struct {
	Name       string                      `json:"Name"`
	ID         string                      `json:"Id"`
	Created    time.Time                   `json:"Created"`
	Scope      string                      `json:"Scope"`
	Driver     string                      `json:"Driver"`
	EnableIPv6 bool                        `json:"EnableIPv6"`
	IPAM       NetworkIPAM                 `json:"IPAM"`
	Internal   bool                        `json:"Internal"`
	Attachable bool                        `json:"Attachable"`
	Ingress    bool                        `json:"Ingress"`
	ConfigOnly bool                        `json:"ConfigOnly"`
	Containers map[string]NetworkContainer `json:"Containers"`
	Options    map[string]string           `json:"Options"`
	Labels     map[string]string           `json:"Labels"`
	Edgerun    NetworkEdgerun              `json:"Edgerun"`
}

// NetworkIPAM is docker's IPAM section: the subnets of the network.
type NetworkIPAM struct {
	Driver  string              `json:"Driver"`
	Options map[string]string   `json:"Options"`
	Config  []NetworkIPAMConfig `json:"Config"`
}

// NetworkIPAMConfig is one subnet and its gateway.
type NetworkIPAMConfig struct {
	Subnet  string `json:"Subnet"`
	Gateway string `json:"Gateway"`
}

// NetworkContainer is a container on the network, by ID in Containers.
type NetworkContainer struct {
	Name        string `json:"Name"`
	MacAddress  string `json:"MacAddress"`
	IPv4Address string `json:"IPv4Address"` // address/prefix
	IPv6Address string `json:"IPv6Address"`
}

// NetworkEdgerun is what edgerun adds to a network's document.
type NetworkEdgerun struct {
	Bridge     string `json:"Bridge,omitempty"` // the bridge device
	MTU        int    `json:"MTU,omitempty"`    // asked for with -o mtu; 0: the uplink's
	Predefined bool   `json:"Predefined"`       // bridge, host and none
}

// Networks lists the predefined networks and the user-defined ones, by
// name, each with its containers.
func (r *Runtime) Networks() ([]*NetworkDoc, error) {
	defs, err := r.netStore().List()
	if err != nil {
		return nil, err
	}
	recs, err := r.listRecords()
	if err != nil {
		return nil, err
	}
	var out []*NetworkDoc
	for _, name := range predefined {
		out = append(out, r.predefinedDoc(name, recs))
	}
	for _, d := range defs {
		out = append(out, r.userDoc(d, recs))
	}
	slices.SortFunc(out, func(a, b *NetworkDoc) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// InspectNetwork is the document of one network: by name, ID or a prefix
// of the ID only one network has.
func (r *Runtime) InspectNetwork(ref string) (*NetworkDoc, error) {
	all, err := r.Networks()
	if err != nil {
		return nil, err
	}
	for _, d := range all {
		if d.Name == ref || d.ID == ref {
			return d, nil
		}
	}
	var found []*NetworkDoc
	for _, d := range all {
		if len(ref) >= 1 && strings.HasPrefix(d.ID, ref) {
			found = append(found, d)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return nil, fmt.Errorf("%w: %s (edgerun network ls lists them)", netns.ErrNoSuchNetwork, ref)
}

func newDoc(name, id, driver string) *NetworkDoc {
	return &NetworkDoc{Name: name, ID: id, Scope: "local", Driver: driver,
		IPAM:       NetworkIPAM{Driver: "default", Options: map[string]string{}, Config: []NetworkIPAMConfig{}},
		Containers: map[string]NetworkContainer{}, Options: map[string]string{}, Labels: map[string]string{}}
}

// predefinedDoc is the document of bridge, host or none, with the
// containers that use it.
func (r *Runtime) predefinedDoc(name string, recs []*Record) *NetworkDoc {
	driver := map[string]string{NetworkBridge: "bridge", NetworkHost: "host", NetworkNone: "null"}[name]
	d := newDoc(name, predefinedID(name), driver)
	d.Edgerun.Predefined = true
	if name == NetworkBridge {
		if n, err := r.network(); err == nil {
			d.IPAM.Config = []NetworkIPAMConfig{{Subnet: n.Subnet().String(), Gateway: n.Gateway().String()}}
			d.Options = map[string]string{"com.docker.network.bridge.default_bridge": "true", "com.docker.network.bridge.name": n.Bridge()}
			d.Edgerun.Bridge = n.Bridge()
			d.Containers = containersOn(recs, func(a *netns.Attachment) bool { return a.Network == "" && a.Bridge == n.Bridge() })
		}
		return d
	}
	for _, rec := range recs {
		if rec.Network.Mode == name {
			d.Containers[rec.ID] = NetworkContainer{Name: rec.Name}
		}
	}
	return d
}

// userDoc is the document of a user-defined network.
func (r *Runtime) userDoc(def *netns.Definition, recs []*Record) *NetworkDoc {
	d := newDoc(def.Name, def.ID, "bridge")
	d.Created, d.Internal, d.EnableIPv6 = def.Created, def.Internal, def.Subnet6().Subnet.IsValid()
	for _, c := range def.IPAM {
		d.IPAM.Config = append(d.IPAM.Config, NetworkIPAMConfig{Subnet: c.Subnet.String(), Gateway: c.Gateway.String()})
	}
	for k, v := range def.Options {
		d.Options[k] = v
	}
	for k, v := range def.Labels {
		d.Labels[k] = v
	}
	d.Edgerun.Bridge, d.Edgerun.MTU = def.Bridge, def.MTU
	d.Containers = containersOn(recs, func(a *netns.Attachment) bool { return a.Network == def.Name && a.Bridge == def.Bridge })
	return d
}

// containersOn are the containers with an attachment that on accepts.
func containersOn(recs []*Record, on func(*netns.Attachment) bool) map[string]NetworkContainer {
	out := map[string]NetworkContainer{}
	for _, rec := range recs {
		for _, a := range rec.Network.Attachments() {
			if on(a) {
				c := NetworkContainer{Name: rec.Name, MacAddress: a.MAC,
					IPv4Address: a.IP.String() + "/" + strconv.Itoa(a.Subnet.Bits())}
				if a.IP6.IsValid() {
					c.IPv6Address = a.IP6.String() + "/" + strconv.Itoa(a.Subnet6.Bits())
				}
				out[rec.ID] = c
			}
		}
	}
	return out
}

// RemoveNetwork removes a user-defined network: its bridge, table,
// leases and definition. It is refused for the predefined networks, and
// while a container (running or stopped) is on it, naming it.
func (r *Runtime) RemoveNetwork(ctx context.Context, ref string) (string, error) {
	if slices.Contains(predefined, ref) {
		return "", fmt.Errorf("%w: %s is a predefined network and cannot be removed (network prune removes the default bridge's device when no container uses it)", netns.ErrInvalid, ref)
	}
	d, err := r.netStore().Remove(ctx, ref, r.containerExists)
	var inUse *netns.InUseError
	if errors.As(err, &inUse) {
		names := make([]string, len(inUse.IDs))
		for i, id := range inUse.IDs {
			names[i] = id[:12]
			if rec, err := r.loadRecord(id); err == nil {
				names[i] = rec.Name
			}
		}
		return "", fmt.Errorf("%w: %s is used by container %s (running or stopped): disconnect (edgerun network disconnect %s CONTAINER) or remove the container first",
			netns.ErrNetworkInUse, inUse.Network, strings.Join(names, ", "), inUse.Network)
	}
	if err != nil {
		return "", err
	}
	r.appendEvent(events.Network, "destroy", d.ID, map[string]string{"name": d.Name, "type": "bridge"})
	return d.Name, nil
}

// PruneNetworks removes every user-defined network no container is on,
// and the default bridge's device, table and leases (--bridge) when no
// container is on it (the next bridge-mode run makes them again). It
// returns what it removed: network names, and the default bridge's device
// name.
func (r *Runtime) PruneNetworks(ctx context.Context) ([]string, error) {
	defs, err := r.netStore().List()
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, d := range defs {
		name, err := r.RemoveNetwork(ctx, d.Name)
		switch {
		case errors.Is(err, netns.ErrNetworkInUse), errors.Is(err, netns.ErrNoSuchNetwork):
		case err != nil:
			errs = append(errs, err)
		default:
			removed = append(removed, name)
		}
	}
	n, err := r.network()
	if err != nil {
		return removed, errors.Join(append(errs, err)...)
	}
	switch err := n.RemoveBridge(r.containerExists); {
	case errors.Is(err, netns.ErrNetworkInUse):
	case err != nil:
		errs = append(errs, err)
	default:
		removed = append(removed, n.Bridge())
		r.appendEvent(events.Network, "destroy", n.Bridge(), map[string]string{"name": n.Bridge(), "type": "bridge"})
	}
	return removed, errors.Join(errs...)
}

// networkFilterKeys are the keys of network ls's --filter.
var networkFilterKeys = []string{"name", "id", "driver", "label", "type"}

// ParseNetworkFilters parses network ls's --filter KEY=VALUE flags, as
// docker's: name (a part of the name), id (a prefix of the ID), driver,
// label (KEY or KEY=VALUE), type (custom or builtin). Filters of one key
// match any of their values; of different keys, all.
func ParseNetworkFilters(fs []string) (func(*NetworkDoc) bool, error) {
	by := map[string][]string{}
	for _, f := range fs {
		k, v, ok := strings.Cut(f, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || v == "" || !slices.Contains(networkFilterKeys, k) {
			return nil, fmt.Errorf("%w %q: use KEY=VALUE with KEY one of %s", ErrInvalidFilter, f, strings.Join(networkFilterKeys, ", "))
		}
		if k == "type" && v != "custom" && v != "builtin" {
			return nil, fmt.Errorf("%w %q: type is custom or builtin", ErrInvalidFilter, f)
		}
		by[k] = append(by[k], v)
	}
	one := func(k, v string, d *NetworkDoc) bool {
		switch k {
		case "name":
			return strings.Contains(d.Name, v)
		case "id":
			return strings.HasPrefix(d.ID, v)
		case "driver":
			return d.Driver == v
		case "type":
			return (v == "builtin") == d.Edgerun.Predefined
		}
		lk, lv, hasValue := strings.Cut(v, "=")
		got, ok := d.Labels[lk]
		return ok && (!hasValue || got == lv)
	}
	return func(d *NetworkDoc) bool {
		for k, vs := range by {
			if !slices.ContainsFunc(vs, func(v string) bool { return one(k, v, d) }) {
				return false
			}
		}
		return true
	}, nil
}
