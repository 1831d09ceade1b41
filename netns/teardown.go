package netns

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// Teardown removes everything SetupAll and Connect made for container id
// on its bridges: its port rules, veth pairs, namespace mount and leases.
// Missing pieces are not errors, so it also finishes an interrupted setup
// or teardown. The veths are found by the ID alone.
func (n *Network) Teardown(id string, bridges ...string) error {
	return n.inNS(func() error {
		h, c, err := openKernel()
		if err != nil {
			return err
		}
		defer h.Close()
		defer c.CloseLasting()
		return n.teardown(c, h, bridges, id)
	})
}

func (n *Network) teardown(c *nftables.Conn, h *netlink.Handle, bridges []string, id string) error {
	var errs []error
	for _, b := range bridges {
		if b != "" {
			errs = append(errs, n.delPortRules(c, b, id))
		}
	}
	errs = append(errs, removeLinks(h, id, n.nsPath(id)))
	if err := errors.Join(errs...); err != nil {
		return err // keep the leases: they mark what is left to clean
	}
	fault.Point("network/before-release")
	return n.releaseLeases(id)
}

// Reclaim tears down what containers that no longer exist left behind (a
// killed edgerun, a crash, a reboot): their leases, namespace mounts,
// veths and rules, on every bridge of this root. Without stale leases or
// mounts it only reads the lease directories, each lease and the mount
// directory, and touches no kernel state.
func (n *Network) Reclaim(alive func(id string) bool) error {
	if err := n.removeLeaseTemps(); err != nil {
		return err
	}
	stale := map[string][]string{} // id -> its bridges (none when unknown)
	leases, _ := filepath.Glob(n.addrLeaseGlob("*"))
	for _, p := range leases {
		if id := readLease(p); id != "" && !alive(id) {
			stale[id] = append(stale[id], filepath.Base(filepath.Dir(filepath.Dir(p))))
		}
	}
	ports, _ := filepath.Glob(filepath.Join(n.portDir(), "*"))
	for _, p := range ports {
		if id := readLease(p); id != "" && !alive(id) {
			stale[id] = append(stale[id], "")
		}
	}
	mounts, err := os.ReadDir(n.state)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range mounts {
		if id := e.Name(); !alive(id) {
			stale[id] = append(stale[id], "")
		}
	}
	if len(stale) == 0 {
		return nil
	}
	var errs []error
	for id, bridges := range stale {
		errs = append(errs, n.Teardown(id, bridges...))
	}
	return errors.Join(errs...)
}

// RemoveBridge deletes the bridge, its nftables table and its lease
// directory. It refuses while a container (alive) holds an address on it.
func (n *Network) RemoveBridge(alive func(id string) bool) error {
	return n.inNS(func() error {
		lock, err := lockfile.Exclusive(context.Background(), n.lockPath())
		if err != nil {
			return fmt.Errorf("lock network state: %w", err)
		}
		defer lock.Unlock()
		return n.removeLocked(alive)
	})
}

// removeLocked is RemoveBridge with the network lock held, on inNS's
// thread.
func (n *Network) removeLocked(alive func(id string) bool) error {
	users, err := n.Users(alive)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		if n.name != "" {
			return &InUseError{Network: n.name, IDs: users}
		}
		return fmt.Errorf("%w: bridge %s is in use by container %.12s: remove it first", ErrNetworkInUse, n.bridge, users[0])
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
	for _, t := range []*nftables.Table{n.table(n.bridge), n.table6(n.bridge)} {
		c.DelTable(t) // one transaction each: a missing table fails its own
		if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, nftError(err))
		}
	}
	if linkErr == nil {
		errs = append(errs, h.LinkDel(l))
	}
	errs = append(errs, os.RemoveAll(n.bridgeDir(n.bridge)))
	return errors.Join(errs...)
}
