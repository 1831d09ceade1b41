package netns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/ids"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// Store is the user-defined networks of an edgerun root: one definition
// per network, <root>/networks/NAME.json, written atomically under the
// network lock (<root>/network/lock, the lock of the leases). The
// definition is the network: create writes it first and then makes the
// bridge; a bridge found missing (a reboot, a create killed between the
// two) is made again at its next use, as the default bridge is. Remove
// deletes the bridge, its table and its leases first and the definition
// last, so a killed remove is finished by running it again.
type Store struct {
	cfg Config // the roots, NS, and the default bridge (its name and subnet are taken)
	dir string
}

// OpenStore opens the network definitions of cfg's root; it changes
// nothing. cfg's Bridge and Subnet are the default bridge's.
func OpenStore(cfg Config) *Store {
	return &Store{cfg: cfg, dir: filepath.Join(cfg.Root, "networks")}
}

func (s *Store) path(name string) string { return filepath.Join(s.dir, name+".json") }

// base is the default bridge's Network: the lock, roots and namespace
// every network shares.
func (s *Store) base() *Network {
	c := s.cfg
	c.Network, c.Gateway, c.Internal, c.MTU = "", "", false, 0
	if n, err := Open(c); err == nil {
		return n
	}
	c.Bridge, c.Subnet = "", ""
	n, _ := Open(c)
	return n
}

// List returns the definitions, by name. A file that cannot be read as
// one is skipped (check reports it).
func (s *Store) List() ([]*Definition, error) {
	ents, err := os.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read network definitions: %w", err)
	}
	var out []*Definition
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		if d, err := s.load(name); err == nil {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s *Store) load(name string) (*Definition, error) {
	b, err := os.ReadFile(s.path(name))
	if err != nil {
		return nil, err
	}
	var d Definition
	if err := json.Unmarshal(b, &d); err != nil || d.Name != name || !isID(d.ID) || !d.Subnet4().Subnet.IsValid() {
		return nil, fmt.Errorf("%w: the definition of network %s (%s) is damaged: run edgerun check", ErrInvalid, name, s.path(name))
	}
	return &d, nil
}

// Get finds a network by name, by ID, or by a prefix of the ID that only
// one network has.
func (s *Store) Get(ref string) (*Definition, error) {
	if CheckName(ref) == nil {
		d, err := s.load(ref)
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if ids.IsHexPrefix(ref) {
		all, err := s.List()
		if err != nil {
			return nil, err
		}
		var found []*Definition
		for _, d := range all {
			if strings.HasPrefix(d.ID, ref) {
				found = append(found, d)
			}
		}
		if len(found) == 1 {
			return found[0], nil
		}
		if len(found) > 1 {
			return nil, fmt.Errorf("%w: %q is the start of the IDs of %d networks: give more of it, or the name", ErrNoSuchNetwork, ref, len(found))
		}
	}
	return nil, fmt.Errorf("%w: %s (edgerun network ls lists them)", ErrNoSuchNetwork, ref)
}

// Network opens the network of a definition.
func (s *Store) Network(d *Definition) (*Network, error) {
	c := s.cfg
	ip4, ip6 := d.Subnet4(), d.Subnet6()
	c.Network, c.Bridge, c.Subnet, c.Gateway = d.Name, d.Bridge, ip4.Subnet.String(), ip4.Gateway.String()
	c.Subnet6, c.Gateway6 = "", ""
	if ip6.Subnet.IsValid() {
		c.Subnet6, c.Gateway6 = ip6.Subnet.String(), ip6.Gateway.String()
	}
	c.Internal, c.MTU = d.Internal, d.MTU
	n, err := Open(c)
	if err != nil {
		return nil, err
	}
	n.defPath, n.defID = s.path(d.Name), d.ID
	return n, nil
}

// Create defines a network and makes its bridge. Everything is checked
// before anything is written: the name (free, valid), the options, the
// subnet (no overlap with another network of this root, the default
// bridge's subnet or a route of the host) and the gateway; without a
// subnet the first free /24 of SubnetPool is taken. On any error nothing
// of the network is left.
func (s *Store) Create(ctx context.Context, o CreateOptions) (*Definition, error) {
	d, err := s.plan(o)
	if err != nil {
		return nil, err
	}
	base := s.base()
	lock, err := lockfile.Exclusive(ctx, base.lockPath())
	if err != nil {
		return nil, fmt.Errorf("lock network state: %w", err)
	}
	defer lock.Unlock()
	if err := base.removeLeaseTemps(); err != nil {
		return nil, err
	}
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	if err := s.checkFree(d, all); err != nil {
		return nil, err
	}
	if err := checkTaken6(d, all); err != nil {
		return nil, err
	}
	taken := []netip.Prefix{}
	if p, err := netip.ParsePrefix(s.cfg.Subnet); err == nil {
		taken = append(taken, p.Masked())
	}
	for _, o := range all {
		taken = append(taken, o.Subnet4().Subnet)
	}
	auto := o.Subnet == ""
	var last netip.Prefix
	for range 16 { // another root may take a pool subnet first: then the next
		if auto {
			p, ok := nextPoolSubnet(last, append(taken, s.routes()...))
			if !ok {
				return nil, fmt.Errorf("%w: no /24 of %s-%s is free: give --subnet", ErrSubnetFull, SubnetPool.First, SubnetPool.Last)
			}
			d.IPAM, last = append([]IPAM{{Subnet: p, Gateway: p.Addr().Next()}}, ipam6(d)...), p
		} else if err := checkTaken(d, all, s.cfg); err != nil {
			return nil, err
		}
		err = s.make(d)
		if !auto || !errors.Is(err, ErrOverlap) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// plan validates the options into a definition (its subnet still unset
// when one is to be picked).
func (s *Store) plan(o CreateOptions) (*Definition, error) {
	if err := CheckName(o.Name); err != nil {
		return nil, err
	}
	do, err := ParseOptions(o.Options)
	if err != nil {
		return nil, err
	}
	id, err := ids.New()
	if err != nil {
		return nil, err
	}
	d := &Definition{Name: o.Name, ID: id, Created: time.Now().UTC(), Bridge: do.Bridge, Internal: o.Internal,
		MTU: do.MTU, Options: o.Options, Labels: o.Labels}
	if d.Bridge == "" {
		d.Bridge = "er_" + id[:12]
	}
	six, err := plan6(o, id)
	if err != nil {
		return nil, err
	}
	if o.Subnet == "" {
		if o.Gateway != "" {
			return nil, fmt.Errorf("%w: --gateway needs --subnet", ErrInvalid)
		}
		d.IPAM = six // the IPv4 subnet is picked under the lock
		return d, nil
	}
	c := s.cfg
	c.Network, c.Bridge, c.Subnet, c.Gateway, c.MTU = d.Name, d.Bridge, o.Subnet, o.Gateway, d.MTU
	n, err := Open(c)
	if err != nil {
		return nil, err
	}
	d.IPAM = append([]IPAM{{Subnet: n.subnet, Gateway: n.gateway}}, six...)
	return d, nil
}

// plan6 is the IPv6 entry of a network's IPAM: the --subnet and
// --gateway given, or the ULA /64 of its ID; none without --ipv6.
func plan6(o CreateOptions, id string) ([]IPAM, error) {
	if !o.IPv6 {
		if o.Subnet6 != "" || o.Gateway6 != "" {
			return nil, fmt.Errorf("%w: an IPv6 --subnet or --gateway needs --ipv6", ErrInvalid)
		}
		return nil, nil
	}
	var p netip.Prefix
	var err error
	if o.Subnet6 == "" {
		if o.Gateway6 != "" {
			return nil, fmt.Errorf("%w: an IPv6 --gateway needs an IPv6 --subnet", ErrInvalid)
		}
		p, err = ULASubnet(id)
	} else {
		p, err = ParseSubnet6(o.Subnet6)
	}
	if err != nil {
		return nil, err
	}
	gw, err := parseGateway6(p, o.Gateway6)
	if err != nil {
		return nil, err
	}
	return []IPAM{{Subnet: p, Gateway: gw}}, nil
}

// ipam6 is the IPv6 entry of d's IPAM, if any.
func ipam6(d *Definition) []IPAM {
	if c := d.Subnet6(); c.Subnet.IsValid() {
		return []IPAM{c}
	}
	return nil
}

// checkTaken6 refuses an IPv6 subnet that overlaps another network's of
// this root.
func checkTaken6(d *Definition, all []*Definition) error {
	p := d.Subnet6().Subnet
	if !p.IsValid() {
		return nil
	}
	for _, o := range all {
		if q := o.Subnet6().Subnet; q.IsValid() && q.Overlaps(p) {
			return fmt.Errorf("%w: %s overlaps %s of network %s: choose another IPv6 --subnet", ErrOverlap, p, q, o.Name)
		}
	}
	return nil
}

// checkFree refuses a name or a bridge name another network has.
func (s *Store) checkFree(d *Definition, all []*Definition) error {
	for _, o := range all {
		if o.Name == d.Name {
			return fmt.Errorf("%w: network %s exists already (ID %.12s): choose another name, or remove it first", ErrNetworkExists, d.Name, o.ID)
		}
		if o.Bridge == d.Bridge {
			return fmt.Errorf("%w: bridge %s is network %s's: choose another -o bridge=NAME", ErrBridgeTaken, d.Bridge, o.Name)
		}
	}
	if d.Bridge == s.cfg.Bridge || (s.cfg.Bridge == "" && d.Bridge == DefaultBridge) {
		return fmt.Errorf("%w: bridge %s is the default bridge network's: choose another -o bridge=NAME", ErrBridgeTaken, d.Bridge)
	}
	return nil
}

// checkTaken refuses a subnet that overlaps another network's of this
// root, or the default bridge's.
func checkTaken(d *Definition, all []*Definition, cfg Config) error {
	p := d.Subnet4().Subnet
	for _, o := range all {
		if q := o.Subnet4().Subnet; q.Overlaps(p) {
			return fmt.Errorf("%w: %s overlaps %s of network %s: choose another --subnet", ErrOverlap, p, q, o.Name)
		}
	}
	def := cfg.Subnet
	if def == "" {
		def = DefaultSubnet
	}
	if q, err := netip.ParsePrefix(def); err == nil && q.Overlaps(p) {
		return fmt.Errorf("%w: %s overlaps %s of the default bridge network: choose another --subnet", ErrOverlap, p, q)
	}
	return nil
}

// routes lists the destinations of the host's IPv4 routes (in NS), which
// a picked subnet must avoid.
func (s *Store) routes() []netip.Prefix {
	var out []netip.Prefix
	_ = s.base().inNS(func() error {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return err
		}
		defer h.Close()
		rs, err := retry(func() ([]netlink.Route, error) { return h.RouteList(nil, netlink.FAMILY_V4) })
		for _, r := range rs {
			if p, ok := netipPrefix(r.Dst); ok && p.Bits() > 0 {
				out = append(out, p.Masked())
			}
		}
		return err
	})
	return out
}

// make writes the definition, then makes the bridge, its sysctls and its
// table; when that fails the definition and whatever was made go again.
// The network lock is held.
func (s *Store) make(d *Definition) error {
	n, err := s.Network(d)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", s.dir, err)
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(s.path(d.Name), b, 0o600); err != nil {
		return fmt.Errorf("write the definition of network %s: %w", d.Name, err)
	}
	err = n.inNS(func() error {
		h, c, err := openKernel()
		if err != nil {
			return err
		}
		defer h.Close()
		defer c.CloseLasting()
		_, _, err = n.ensureInfra(h, c)
		return err
	})
	if err == nil {
		return nil
	}
	// What was made goes again; a bridge that is not ours was not made.
	if !errors.Is(err, ErrBridgeTaken) {
		err = errors.Join(err, n.inNS(func() error { return n.removeLocked(func(string) bool { return false }) }))
	}
	return errors.Join(err, s.removeDef(d.Name))
}

// removeDef removes a definition file, durably.
func (s *Store) removeDef(name string) error {
	if err := os.Remove(s.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return atomicfile.SyncDir(s.dir)
}

// Remove deletes a network: its bridge, table and leases, then its
// definition. It is refused (an *InUseError) while a container that
// exists (alive) has an address on it.
func (s *Store) Remove(ctx context.Context, ref string, alive func(id string) bool) (*Definition, error) {
	d, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	n, err := s.Network(d)
	if err != nil {
		return nil, err
	}
	lock, err := lockfile.Exclusive(ctx, n.lockPath())
	if err != nil {
		return nil, fmt.Errorf("lock network state: %w", err)
	}
	defer lock.Unlock()
	if cur, err := s.load(d.Name); err != nil || cur.ID != d.ID {
		return nil, fmt.Errorf("%w: %s (removed meanwhile)", ErrNoSuchNetwork, ref)
	}
	err = n.inNS(func() error { return n.removeLocked(alive) })
	if err != nil {
		return nil, err
	}
	return d, s.removeDef(d.Name)
}
