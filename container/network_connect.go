package container

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/netns"
)

// ConnectOptions are the flags of network connect.
type ConnectOptions struct {
	IP      string   // --ip: the container's address on the network
	IP6     string   // --ip6: its IPv6 address on a dual-stack network
	Aliases []string // --alias: more names of the container on the network
}

// ConnectNetwork puts a container, running or not, on one more network:
// a new interface (the lowest free of eth0-eth9), an address, the default
// route when it has none yet and the network is not internal, and the
// hosts files of everyone on its networks rewritten. The container's
// request (update, apply) names the network from then on.
func (r *Runtime) ConnectNetwork(ctx context.Context, network, ref string, o ConnectOptions) error {
	rec, lock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer r.unlock(lock, rec.ID)
	as := rec.Network.Attachments()
	if len(as) == 0 {
		return fmt.Errorf("%w: container %s uses --network %s: only containers on bridge networks can be connected to others", netns.ErrInvalid, rec.Name, rec.Network.Mode)
	}
	n, err := r.openNetwork(network, nil)
	if err != nil {
		return err
	}
	if slices.ContainsFunc(as, func(a *netns.Attachment) bool { return a.Bridge == n.Bridge() }) {
		return fmt.Errorf("%w: container %s is already on network %s", netns.ErrInvalid, rec.Name, netName(n))
	}
	if err := checkAliases("--alias", o.Aliases, n.Name() != ""); err != nil {
		return err
	}
	ep := netns.Endpoint{Net: n, Index: freeIndex(as), Aliases: o.Aliases}
	if ep.Index < 0 {
		return fmt.Errorf("%w: container %s is on %d networks already, the most a container can be on", netns.ErrInvalid, rec.Name, len(as))
	}
	if o.IP != "" {
		if ep.IP, err = n.ParseIP(o.IP); err != nil {
			return fmt.Errorf("%w: %w", netns.ErrInvalid, err)
		}
	}
	if o.IP6 != "" {
		if ep.IP6, err = n.ParseIP6(o.IP6); err != nil {
			return fmt.Errorf("%w: %w", netns.ErrInvalid, err)
		}
	}
	if err := r.ensureNetwork(ctx, rec); err != nil { // after a reboot
		return err
	}
	as = rec.Network.Attachments()
	route := !n.Internal() && !slices.ContainsFunc(as, func(a *netns.Attachment) bool { return !a.Internal })
	a, err := n.Connect(ctx, netns.SetupOptions{ID: rec.ID, Alive: r.containerExists, Volatile: rec.AutoRemove}, ep, route)
	if err != nil {
		return err
	}
	rec.Network.setAttachments(append(as, a))
	if err := r.saveRecord(rec); err != nil {
		return errors.Join(err, n.Disconnect(rec.ID, a, nil))
	}
	r.rememberNetworks(rec, func(no *NetOptions) {
		no.More = append(no.More, netName(n))
		if n.Name() != "" {
			if no.NetAliases == nil {
				no.NetAliases = map[string][]string{}
			}
			no.NetAliases[n.Name()] = append([]string{}, o.Aliases...)
		}
	})
	_ = r.refreshPeerHosts(rec.Network.bridges(), "") // best effort, as at create
	r.appendEvent(events.Network, "connect", netName(n), map[string]string{"name": netName(n), "container": rec.ID, "type": "bridge"})
	return nil
}

// freeIndex is the lowest interface index no attachment has; -1 when
// all are taken.
func freeIndex(as []*netns.Attachment) int {
	for i := range netns.MaxInterfaces {
		if !slices.ContainsFunc(as, func(a *netns.Attachment) bool { return a.Index == i }) {
			return i
		}
	}
	return -1
}

// DisconnectNetwork takes a container off one of its networks: its
// interface and address there go, the default route moves to its next
// network that is not internal when it went through this one, and the
// hosts files are rewritten. A container keeps at least one network, and
// the one its published ports are on.
func (r *Runtime) DisconnectNetwork(ctx context.Context, network, ref string) error {
	rec, lock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return err
	}
	defer r.unlock(lock, rec.ID)
	name := network
	if name != NetworkBridge {
		if d, err := r.netStore().Get(network); err == nil {
			name = d.Name
		}
	}
	as := rec.Network.Attachments()
	i := slices.IndexFunc(as, func(a *netns.Attachment) bool { return networkName(a) == name })
	switch {
	case i < 0:
		return fmt.Errorf("%w: container %s is not on network %s", netns.ErrInvalid, rec.Name, network)
	case len(as) == 1:
		return fmt.Errorf("%w: network %s is the last network of container %s: connect it to another first, or remove it", netns.ErrInvalid, name, rec.Name)
	case len(as[i].Ports) > 0:
		return fmt.Errorf("%w: container %s publishes its ports (%s) on network %s: it cannot leave it", netns.ErrInvalid, rec.Name, as[i].PublishedPorts(), name)
	}
	a := as[i]
	rest := slices.Delete(slices.Clone(as), i, i+1)
	var route *netns.Attachment
	if holder := slices.IndexFunc(as, func(a *netns.Attachment) bool { return !a.Internal }); holder == i {
		if j := slices.IndexFunc(rest, func(a *netns.Attachment) bool { return !a.Internal }); j >= 0 {
			route = rest[j]
		}
	}
	n := r.anyNetwork()
	if n == nil {
		return fmt.Errorf("open the network state")
	}
	if err := n.Disconnect(rec.ID, a, route); err != nil {
		return err
	}
	bridges := rec.Network.bridges()
	rec.Network.setAttachments(rest)
	if err := r.saveRecord(rec); err != nil {
		return err
	}
	r.rememberNetworks(rec, func(no *NetOptions) {
		names := slices.DeleteFunc(no.networks(), func(s string) bool { return s == name })
		if len(names) > 0 {
			no.Mode, no.More = names[0], names[1:]
		}
		delete(no.NetAliases, name)
	})
	_ = r.refreshPeerHosts(bridges, "")
	r.appendEvent(events.Network, "disconnect", name, map[string]string{"name": name, "container": rec.ID, "type": "bridge"})
	return nil
}

// rememberNetworks changes the networks of a container's request, so
// that update and apply make its replacement on the networks it is on.
// Best effort: without it the replacement joins the networks it was run
// with.
func (r *Runtime) rememberNetworks(rec *Record, change func(*NetOptions)) {
	q, err := r.loadRequest(rec)
	if err != nil {
		return
	}
	change(&q.Net)
	_ = r.saveRequest(rec.ID, *q, !rec.AutoRemove)
}
