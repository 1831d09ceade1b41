package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/lockfile"
)

// Connect adds an interface on this network to container o.ID, whose
// namespace SetupAll made (network connect): a lease, a veth pair eth<Index>
// into the bridge and the address; with route, the default route through
// this network's gateway (the container has none through another). What
// a killed earlier Connect of the same interface left is replaced; on any
// error nothing of this interface is left.
func (n *Network) Connect(ctx context.Context, o SetupOptions, ep Endpoint, route bool) (a *Attachment, err error) {
	if err := checkEndpoints(SetupOptions{ID: o.ID}, []Endpoint{ep}); err != nil {
		return nil, err
	}
	if o.Alive == nil {
		o.Alive = func(string) bool { return true }
	}
	if !Mounted(n.nsPath(o.ID)) {
		return nil, fmt.Errorf("the network namespace of container %.12s is gone: start the container first", o.ID)
	}
	err = n.inNS(func() error {
		a, err = n.connect(ctx, o, ep, route)
		return err
	})
	return a, err
}

func (n *Network) connect(ctx context.Context, o SetupOptions, ep Endpoint, route bool) (_ *Attachment, retErr error) {
	h, c, err := openKernel()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	defer c.CloseLasting()
	undo := func() error {
		return errors.Join(delVeth(h, vethName(o.ID, ep.Index)), n.releaseLease(n.bridge, o.ID))
	}
	defer func() {
		if retErr != nil {
			_ = undo()
		}
	}()
	lock, err := lockfile.Exclusive(ctx, n.lockPath())
	if err != nil {
		return nil, fmt.Errorf("lock network state: %w", err)
	}
	a, br, err := func() (*Attachment, netlink.Link, error) {
		defer lock.Unlock()
		if err := undo(); err != nil { // a killed connect's leftovers
			return nil, nil, err
		}
		return n.prepareOne(h, c, o, ep)
	}()
	if err != nil {
		return nil, err
	}
	ns, err := vnetns.GetFromPath(a.NetNS)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w", a.NetNS, err)
	}
	defer ns.Close()
	if err := addVeth(h, o.ID, ep.Index, br, ns, a.MTU); err != nil {
		return nil, err
	}
	route6 := false
	if a.IP6.IsValid() && !a.Internal {
		in, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
		if err != nil {
			return nil, fmt.Errorf("open netlink in the container's namespace: %w", err)
		}
		route6 = !hasDefaultRoute6(in)
		in.Close()
	}
	if err := configureInside(ns, a, route, route6); err != nil {
		return nil, err
	}
	return a, nil
}

// Disconnect removes container id's interface on this network (network
// disconnect): its veth pair and its lease. With route, the default route
// moves to that attachment's network (the one removed held it).
func (n *Network) Disconnect(id string, a *Attachment, route *Attachment) error {
	return n.inNS(func() error {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("open netlink: %w", err)
		}
		defer h.Close()
		if err := delVeth(h, vethName(id, a.Index)); err != nil {
			return err
		}
		if err := n.releaseLease(a.Bridge, id); err != nil {
			return err
		}
		if route == nil || !Mounted(n.nsPath(id)) {
			return nil
		}
		ns, err := vnetns.GetFromPath(n.nsPath(id))
		if err != nil {
			return fmt.Errorf("open network namespace of container %.12s: %w", id, err)
		}
		defer ns.Close()
		in, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
		if err != nil {
			return fmt.Errorf("open netlink in the container's namespace: %w", err)
		}
		defer in.Close()
		l, err := in.LinkByName(route.Interface())
		if err != nil {
			return fmt.Errorf("find %s in the container's namespace: %w", route.Interface(), err)
		}
		if route.Gateway6.IsValid() && !hasDefaultRoute6(in) {
			if err := setDefaultRoute(in, l, route.Gateway6); err != nil {
				return err
			}
		}
		return setDefaultRoute(in, l, route.Gateway)
	})
}

// releaseLease removes id's address leases on bridge (not its others).
func (n *Network) releaseLease(bridge, id string) error {
	paths, _ := filepath.Glob(filepath.Join(n.bridgeDir(bridge), "leases*", "*"))
	var errs []error
	for _, p := range paths {
		if readLease(p) == id {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
