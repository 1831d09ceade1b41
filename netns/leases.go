package netns

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// Leases are files, one per address or port, holding the owning container
// ID: <root>/network/<bridge>/leases/<ip> and
// <root>/network/ports/<proto>-<port>-<hostip|any>. They are allocated
// under <root>/network/lock and survive reboots (a stopped container keeps
// its address). A lease whose container is gone is stale and reclaimed.

func (n *Network) leaseDir(bridge string) string { return filepath.Join(n.bridgeDir(bridge), "leases") }

// leaseDir6 holds a dual-stack network's IPv6 leases, beside the IPv4
// ones: the same lock, files, reclaim and check.
func (n *Network) leaseDir6(bridge string) string {
	return filepath.Join(n.bridgeDir(bridge), "leases6")
}

// addrLeaseGlob matches every address lease of this root, IPv4 and IPv6.
func (n *Network) addrLeaseGlob(name string) string {
	return filepath.Join(n.root, "*", "leases*", name)
}
func (n *Network) portDir() string  { return filepath.Join(n.root, "ports") }
func (n *Network) lockPath() string { return filepath.Join(n.root, "lock") }

func readLease(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// addrPool is one family's addresses of a network: where its leases
// live and which addresses it hands out.
type addrPool struct {
	dir, last string // the lease directory, the file naming the last address handed out
	subnet    netip.Prefix
	gateway   netip.Addr
	flag      string // --ip or --ip6, for messages
	check     func(netip.Addr) error
}

func (n *Network) pool4() addrPool {
	return addrPool{dir: n.leaseDir(n.bridge), last: filepath.Join(n.bridgeDir(n.bridge), "last"),
		subnet: n.subnet, gateway: n.gateway, flag: "--ip", check: n.checkAddr}
}

func (n *Network) pool6() addrPool {
	return addrPool{dir: n.leaseDir6(n.bridge), last: filepath.Join(n.bridgeDir(n.bridge), "last6"),
		subnet: n.subnet6, gateway: n.gateway6, flag: "--ip6", check: n.checkAddr6}
}

// maxScan bounds the search for a free address: an IPv6 /64 is never
// walked whole (a bridge has far fewer containers than this).
const maxScan = 1 << 16

// leaseIP leases want (when valid) or the next free IPv4 address after
// the last one handed out, so a just-freed address is not reused at once.
// The caller holds the network lock.
func (n *Network) leaseIP(id string, want netip.Addr, alive func(string) bool, volatile bool) (netip.Addr, error) {
	return n.leaseFrom(n.pool4(), id, want, alive, volatile)
}

// leaseIP6 is leaseIP for a dual-stack network's IPv6 address.
func (n *Network) leaseIP6(id string, want netip.Addr, alive func(string) bool, volatile bool) (netip.Addr, error) {
	return n.leaseFrom(n.pool6(), id, want, alive, volatile)
}

func (n *Network) leaseFrom(p addrPool, id string, want netip.Addr, alive func(string) bool, volatile bool) (netip.Addr, error) {
	dir := p.dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return netip.Addr{}, fmt.Errorf("create lease directory: %w", err)
	}
	free := func(a netip.Addr) bool {
		owner := readLease(filepath.Join(dir, a.String()))
		return owner == "" || owner == id || !alive(owner)
	}
	if want.IsValid() {
		if err := p.check(want); err != nil {
			return netip.Addr{}, err
		}
		if owner := readLease(filepath.Join(dir, want.String())); !free(want) {
			return netip.Addr{}, fmt.Errorf("%w: %s %s is held by container %.12s: choose another address or remove that container", ErrAddressInUse, p.flag, want, owner)
		}
		return want, n.writeLease(p, want, id, volatile)
	}
	last, _ := netip.ParseAddr(readLease(p.last))
	if !p.subnet.Contains(last) {
		last = p.gateway
	}
	a := last
	size := maxScan
	if host := p.subnet.Addr().BitLen() - p.subnet.Bits(); host < 16 {
		size = 1 << host
	}
	for range size {
		a = a.Next()
		if !p.subnet.Contains(a) {
			a = p.subnet.Addr().Next()
		}
		if p.check(a) == nil && free(a) {
			return a, n.writeLease(p, a, id, volatile)
		}
	}
	return netip.Addr{}, fmt.Errorf("%w: all addresses of %s on %s are leased: remove stopped containers (edgerun ps -a) or use a larger --subnet", ErrSubnetFull, p.subnet, n.bridge)
}

func (n *Network) writeLease(p addrPool, a netip.Addr, id string, volatile bool) error {
	if err := writeFile(filepath.Join(p.dir, a.String()), []byte(id+"\n"), volatile); err != nil {
		return fmt.Errorf("lease %s: %w", a, err)
	}
	// Where to continue next time; losing it only changes the order.
	_ = atomicfile.WriteFileVolatile(p.last, []byte(a.String()+"\n"), 0o600)
	return nil
}

// checkAddr refuses addresses a container cannot have: outside the subnet,
// the network address, the gateway, the broadcast address.
func (n *Network) checkAddr(a netip.Addr) error {
	if !a.Is4() || !n.subnet.Contains(a) {
		return fmt.Errorf("%w: --ip %s is not in the subnet %s of bridge %s", ErrInvalid, a, n.subnet, n.bridge)
	}
	if a == n.subnet.Addr() || a == n.gateway || a == broadcast(n.subnet) {
		return fmt.Errorf("%w: --ip %s is the network, gateway or broadcast address of %s", ErrInvalid, a, n.subnet)
	}
	return nil
}

// checkAddr6 refuses IPv6 addresses a container cannot have: outside the
// subnet, the subnet-router anycast address, the gateway.
func (n *Network) checkAddr6(a netip.Addr) error {
	if !n.subnet6.IsValid() {
		return fmt.Errorf("%w: --ip6 %s: network %s has no IPv6: create it with --ipv6", ErrInvalid, a, n.label())
	}
	if !a.Is6() || a.Is4In6() || !n.subnet6.Contains(a) {
		return fmt.Errorf("%w: --ip6 %s is not in the IPv6 subnet %s of bridge %s", ErrInvalid, a, n.subnet6, n.bridge)
	}
	if a == n.subnet6.Addr() || a == n.gateway6 {
		return fmt.Errorf("%w: --ip6 %s is the subnet-router or gateway address of %s", ErrInvalid, a, n.subnet6)
	}
	return nil
}

func broadcast(p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	for i := p.Bits(); i < 32; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom4(b)
}

// leasePorts gives every mapping a host port: the requested one when no
// live container holds it and nothing on the host listens on it, the
// first such port of a requested range, else a free one the kernel
// picks. Nothing is written unless every mapping gets its port. The
// caller holds the network lock.
func (n *Network) leasePorts(id string, ports []PortMapping, alive func(string) bool, volatile bool) ([]PortMapping, error) {
	if err := os.MkdirAll(n.portDir(), 0o700); err != nil {
		return nil, fmt.Errorf("create port lease directory: %w", err)
	}
	held, err := n.heldPorts(id, alive)
	if err != nil {
		return nil, err
	}
	out := make([]PortMapping, 0, len(ports))
	for _, p := range ports {
		var err error
		switch {
		case p.HostPortEnd > p.HostPort:
			p, err = pickFromRange(p, append(held, out...))
		case p.HostPort == 0:
			if p.HostPort, err = pickPort(p); err == nil {
				err = checkFree(p, append(held, out...))
			}
		default:
			err = checkFree(p, append(held, out...))
		}
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	for _, p := range out {
		if err := writeFile(filepath.Join(n.portDir(), portLeaseName(p)), []byte(id+"\n"), volatile); err != nil {
			return nil, fmt.Errorf("lease port %s: %w", p, err)
		}
	}
	return out, nil
}

// checkFree refuses a host port that conflicts with one of taken (a live
// container's lease, an earlier mapping of the same request), or that
// another program listens on.
func checkFree(p PortMapping, taken []PortMapping) error {
	for _, h := range taken {
		if p.conflicts(h) {
			return fmt.Errorf("%w: -p %s: host port %d/%s is already published by another container: choose another host port", ErrPortInUse, p, p.HostPort, p.Proto)
		}
	}
	return probePort(p)
}

// pickFromRange gives p the first port of its host range that is free
// (docker's -p 8000-8010:80).
func pickFromRange(p PortMapping, taken []PortMapping) (PortMapping, error) {
	want := p
	for port := int(p.HostPort); port <= int(p.HostPortEnd); port++ {
		q := p
		q.HostPort, q.HostPortEnd = uint16(port), 0
		if checkFree(q, taken) == nil {
			return q, nil
		}
	}
	return PortMapping{}, fmt.Errorf("%w: -p %s: every host port of %s/%s is published by a container or used by another program: choose another range", ErrPortInUse, want, want.HostPorts(), want.Proto)
}

// writeFile writes a lease atomically, durably unless volatile.
func writeFile(path string, data []byte, volatile bool) error {
	if volatile {
		return atomicfile.WriteFileVolatile(path, data, 0o600)
	}
	return atomicfile.WriteFile(path, data, 0o600)
}

func portLeaseName(p PortMapping) string {
	ip := "any"
	if p.HostIP.IsValid() {
		ip = p.HostIP.String()
	}
	return fmt.Sprintf("%s-%d-%s", p.Proto, p.HostPort, ip)
}

// PublishedPorts lists the host ports leased by live containers.
func (n *Network) PublishedPorts(alive func(string) bool) ([]PortMapping, error) {
	return n.heldPorts("", alive)
}

// heldPorts lists the ports leased by live containers other than id.
func (n *Network) heldPorts(id string, alive func(string) bool) ([]PortMapping, error) {
	ents, err := os.ReadDir(n.portDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read port leases: %w", err)
	}
	var held []PortMapping
	for _, e := range ents {
		owner := readLease(filepath.Join(n.portDir(), e.Name()))
		f := strings.SplitN(e.Name(), "-", 3)
		if owner == "" || owner == id || !alive(owner) || len(f) != 3 {
			continue
		}
		port, _ := strconv.ParseUint(f[1], 10, 16)
		ip, _ := netip.ParseAddr(f[2])
		held = append(held, PortMapping{Proto: f[0], HostPort: uint16(port), HostIP: ip})
	}
	return held, nil
}

// probePort binds the host port briefly: a listener of another program on
// it makes the published port unreachable, so it is refused up front.
func probePort(p PortMapping) error {
	addr := net.JoinHostPort(hostOrAny(p.HostIP), strconv.Itoa(int(p.HostPort)))
	if _, err := bindOnce(p.Proto, addr); err != nil {
		if errors.Is(err, unix.EADDRINUSE) {
			return fmt.Errorf("%w: -p %s: another program on this host listens on %s/%s: stop it or choose another host port", ErrPortInUse, p, addr, p.Proto)
		}
		return fmt.Errorf("%w: -p %s: cannot use host address %s: %w", ErrInvalid, p, addr, err)
	}
	return nil
}

// pickPort asks the kernel for a free port of the mapping's protocol.
func pickPort(p PortMapping) (uint16, error) {
	port, err := bindOnce(p.Proto, net.JoinHostPort(hostOrAny(p.HostIP), "0"))
	if err != nil {
		return 0, fmt.Errorf("pick a free host port for %d/%s: %w", p.ContainerPort, p.Proto, err)
	}
	return port, nil
}

// bindOnce binds addr with a udp or tcp socket, closes it again, and
// returns the port it got. It binds in edgerun's own network namespace
// (the host's), also when called on inNS's thread: a goroutine of its own
// never runs there.
func bindOnce(proto, addr string) (uint16, error) {
	type result struct {
		port uint16
		err  error
	}
	done := make(chan result, 1)
	go func() {
		port, err := bindHere(proto, addr)
		done <- result{port, err}
	}()
	r := <-done
	return r.port, r.err
}

func bindHere(proto, addr string) (uint16, error) {
	fam := "4"
	if host, _, _ := net.SplitHostPort(addr); strings.Contains(host, ":") {
		fam = "6"
	}
	if proto == "udp" {
		c, err := net.ListenPacket("udp"+fam, addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp"+fam, addr)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

func hostOrAny(a netip.Addr) string {
	if a.IsValid() {
		return a.String()
	}
	return "0.0.0.0"
}

// releaseLeases removes every lease of id: its ports, then its addresses
// on every bridge (last: an address lease is what marks leftovers).
func (n *Network) releaseLeases(id string) error {
	var errs []error
	for _, pat := range []string{filepath.Join(n.portDir(), "*"), n.addrLeaseGlob("*")} {
		paths, _ := filepath.Glob(pat)
		for _, p := range paths {
			if readLease(p) == id {
				if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, err)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// removeLeaseTemps removes the temp files that lease and network
// definition writes (atomicfile's, beside the leases, each bridge's last
// address and the definitions) left when a crash
// interrupted them: they name no container, so no teardown would. Leases
// are written under the network lock, so under it no write is in flight.
func (n *Network) removeLeaseTemps() error {
	var dirs []string
	pats := []string{filepath.Join(n.root, "*", ".*.tmp-*"), n.addrLeaseGlob(".*.tmp-*"),
		filepath.Join(filepath.Dir(n.root), "networks", ".*.tmp-*")} // network definitions
	for _, pat := range pats {
		tmps, _ := filepath.Glob(pat)
		for _, p := range tmps {
			dirs = append(dirs, filepath.Dir(p))
		}
	}
	if len(dirs) == 0 {
		return nil
	}
	lock, err := lockfile.Exclusive(context.Background(), n.lockPath())
	if err != nil {
		return fmt.Errorf("lock network state: %w", err)
	}
	defer lock.Unlock()
	var errs []error
	for _, d := range dirs {
		errs = append(errs, atomicfile.RemoveStale(d, "*"))
	}
	return errors.Join(errs...)
}

// Lease is one address lease: which container holds which address.
type Lease struct {
	IP netip.Addr
	ID string
}

// Leases lists the address leases of this network's bridge.
func (n *Network) Leases() ([]Lease, error) { return n.LeasesOn(n.bridge) }

// LeasesOn lists the IPv4 address leases of any bridge of this root (a
// dual-stack container has one in each family; the IPv4 one names it).
func (n *Network) LeasesOn(bridge string) ([]Lease, error) {
	dir := n.leaseDir(bridge)
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read leases: %w", err)
	}
	var out []Lease
	for _, e := range ents {
		a, err := netip.ParseAddr(e.Name())
		if id := readLease(filepath.Join(dir, e.Name())); err == nil && id != "" {
			out = append(out, Lease{IP: a, ID: id})
		}
	}
	return out, nil
}
