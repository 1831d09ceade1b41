package netns

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Defaults of the bridge network. The subnet avoids docker's 172.17.0.0/16,
// podman's 10.88.0.0/16 (and the 10.89.x.0/24 networks podman adds next),
// and k3s's 10.42.0.0/16 and 10.43.0.0/16.
const (
	DefaultBridge = "edgerun0"
	DefaultSubnet = "10.90.0.0/24"
)

// Config says where a network's state lives and which bridge and subnet it
// uses. Root and State are edgerun's persistent and volatile roots.
type Config struct {
	Root   string // persistent root: leases live in Root/network
	State  string // volatile root: netns mounts live in State/netns
	Bridge string // bridge name, default edgerun0
	Subnet string // IPv4 CIDR, default 10.90.0.0/24
	// NS is the network namespace that holds the bridge, its rules and
	// the host ends of the veths; "" is this process's. Rootless edgerun
	// keeps them in the session's namespace (package rootless).
	NS string

	// A user-defined network (network create, see Store) sets these; the
	// default bridge leaves them zero.
	Network  string // its name: the bridge's alias says it, and it is isolated from edgerun's other bridges
	Gateway  string // "" is the subnet's first address
	Internal bool   // no outbound NAT, no default route, no traffic to or from other interfaces
	MTU      int    // of the bridge and veths; 0 is the uplink's (the default route's device)
	// Subnet6 makes the network dual-stack (network create --ipv6): its
	// IPv6 prefix; Gateway6 "" is the prefix's first address.
	Subnet6  string
	Gateway6 string
}

// validBridge is what Linux accepts as an interface name that is also safe
// in a file name and an nftables table name.
var validBridge = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.]{0,14}$`)

// Network is one bridge network: its bridge, subnet, leases and nftables
// table. Opening it validates the configuration and changes nothing.
type Network struct {
	root, state string
	ns          string
	bridge      string
	subnet      netip.Prefix
	gateway     netip.Addr
	name        string // a user-defined network's name; "" for the default bridge
	internal    bool
	mtu         int
	// subnet6 and gateway6: a dual-stack network's IPv6 prefix and the
	// bridge's address in it; invalid on an IPv4-only network.
	subnet6  netip.Prefix
	gateway6 netip.Addr
	// defPath and defID: the definition a user-defined network was
	// opened from (Store.Network), checked again under the lock.
	defPath, defID string
}

// Open validates cfg. The bridge, its table and its sysctls are made by the
// first Setup.
func Open(cfg Config) (*Network, error) {
	if cfg.Root == "" || cfg.State == "" {
		return nil, fmt.Errorf("%w: network state needs the persistent and volatile roots", ErrInvalid)
	}
	if cfg.Bridge == "" {
		cfg.Bridge = DefaultBridge
	}
	if cfg.Subnet == "" {
		cfg.Subnet = DefaultSubnet
	}
	if !validBridge.MatchString(cfg.Bridge) {
		return nil, fmt.Errorf("%w: bridge name %q: use 1-15 letters, digits, '_' or '.'", ErrInvalid, cfg.Bridge)
	}
	p, err := netip.ParsePrefix(cfg.Subnet)
	if err != nil || !p.Addr().Is4() {
		return nil, fmt.Errorf("%w: subnet %q: use an IPv4 CIDR such as %s", ErrInvalid, cfg.Subnet, DefaultSubnet)
	}
	if p.Bits() > 29 || p.Bits() < 8 {
		return nil, fmt.Errorf("%w: subnet %s: use a prefix between /8 and /29", ErrInvalid, p)
	}
	if p.Masked() != p {
		return nil, fmt.Errorf("%w: subnet %s has host bits set: use %s", ErrInvalid, p, p.Masked())
	}
	if !p.Addr().IsPrivate() {
		return nil, fmt.Errorf("%w: subnet %s is not a private range: use one inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16", ErrInvalid, p)
	}
	gw, err := parseGateway(p, cfg.Gateway)
	if err != nil {
		return nil, err
	}
	if cfg.MTU != 0 && (cfg.MTU < minMTU || cfg.MTU > maxMTU) {
		return nil, fmt.Errorf("%w: mtu %d: use %d-%d", ErrInvalid, cfg.MTU, minMTU, maxMTU)
	}
	n := &Network{
		root: filepath.Join(cfg.Root, "network"), state: filepath.Join(cfg.State, "netns"),
		bridge: cfg.Bridge, subnet: p, gateway: gw, ns: cfg.NS,
		name: cfg.Network, internal: cfg.Internal, mtu: cfg.MTU,
	}
	if cfg.Subnet6 != "" {
		if n.subnet6, err = ParseSubnet6(cfg.Subnet6); err != nil {
			return nil, err
		}
		if n.gateway6, err = parseGateway6(n.subnet6, cfg.Gateway6); err != nil {
			return nil, err
		}
	} else if cfg.Gateway6 != "" {
		return nil, fmt.Errorf("%w: an IPv6 --gateway needs an IPv6 --subnet", ErrInvalid)
	}
	return n, nil
}

// The sizes an IPv6 subnet may have. A prefix longer than /120 (fewer
// than 256 addresses) is too small; /64 is what one should use.
const (
	minBits6 = 16
	maxBits6 = 120
)

// ParseSubnet6 parses an IPv6 subnet: a unicast prefix (not link-local,
// loopback, multicast or IPv4-mapped) of /16 to /120, host bits clear.
func ParseSubnet6(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%w: IPv6 subnet %q: use an IPv6 CIDR such as fd00:1:2:3::/64", ErrInvalid, s)
	}
	if p.Bits() > maxBits6 {
		return netip.Prefix{}, fmt.Errorf("%w: IPv6 subnet %s is too small: use a prefix of /%d or shorter (/64 is best)", ErrInvalid, p, maxBits6)
	}
	if p.Bits() < minBits6 {
		return netip.Prefix{}, fmt.Errorf("%w: IPv6 subnet %s is too large: use a prefix between /%d and /%d (/64 is best)", ErrInvalid, p, minBits6, maxBits6)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%w: IPv6 subnet %s has host bits set: use %s", ErrInvalid, p, p.Masked())
	}
	if a := p.Addr(); a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsLoopback() || a.IsUnspecified() {
		return netip.Prefix{}, fmt.Errorf("%w: IPv6 subnet %s is not a unicast range: use a unique local one (fd00::/8) or a global one routed to this host", ErrInvalid, p)
	}
	return p, nil
}

// parseGateway6 is the bridge's IPv6 address: s, or the prefix's first
// address after the subnet-router anycast one.
func parseGateway6(p netip.Prefix, s string) (netip.Addr, error) {
	if s == "" {
		return p.Addr().Next(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Is4In6() {
		return netip.Addr{}, fmt.Errorf("%w: gateway %q is not an IPv6 address", ErrInvalid, s)
	}
	if !p.Contains(a) || a == p.Addr() {
		return netip.Addr{}, fmt.Errorf("%w: gateway %s is not a host address of the IPv6 subnet %s: choose one inside it, e.g. %s", ErrInvalid, a, p, p.Addr().Next())
	}
	return a, nil
}

// ULASubnet is the IPv6 subnet of a network created with --ipv6 but no
// IPv6 --subnet: the unique local /64 fdXX:XXXX:XXXX::/64 whose 40-bit
// global ID (RFC 4193) is the first 40 bits of the network's ID, which is
// random; subnet ID 0.
func ULASubnet(networkID string) (netip.Prefix, error) {
	b, err := hex.DecodeString(networkID[:min(10, len(networkID))])
	if err != nil || len(b) != 5 {
		return netip.Prefix{}, fmt.Errorf("%w: network ID %q is not hex", ErrInvalid, networkID)
	}
	var a [16]byte
	a[0] = 0xfd
	copy(a[1:6], b)
	return netip.PrefixFrom(netip.AddrFrom16(a), 64), nil
}

// The MTUs a network may ask for: IPv4's minimum, the largest a veth takes.
const (
	minMTU = 68
	maxMTU = 65535
)

// parseGateway is the bridge's address: s, or the subnet's first address;
// never the network or broadcast address, always inside the subnet.
func parseGateway(p netip.Prefix, s string) (netip.Addr, error) {
	if s == "" {
		return p.Addr().Next(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%w: gateway %q is not an IPv4 address", ErrInvalid, s)
	}
	if !p.Contains(a) || a == p.Addr() || a == broadcast(p) {
		return netip.Addr{}, fmt.Errorf("%w: gateway %s is not a host address of the subnet %s: choose one inside it, e.g. %s", ErrInvalid, a, p, p.Addr().Next())
	}
	return a, nil
}

// Bridge is the bridge name.
func (n *Network) Bridge() string { return n.bridge }

// Subnet is the bridge's subnet.
func (n *Network) Subnet() netip.Prefix { return n.subnet }

// Gateway is the bridge's address.
func (n *Network) Gateway() netip.Addr { return n.gateway }

// Subnet6 is a dual-stack network's IPv6 subnet; invalid when IPv4 only.
func (n *Network) Subnet6() netip.Prefix { return n.subnet6 }

// Gateway6 is the bridge's IPv6 address; invalid when IPv4 only.
func (n *Network) Gateway6() netip.Addr { return n.gateway6 }

// DualStack says whether the network has IPv6 too (network create --ipv6).
func (n *Network) DualStack() bool { return n.subnet6.IsValid() }

// Name is the user-defined network's name; "" for the default bridge.
func (n *Network) Name() string { return n.name }

// Internal says whether the network has no way out (--internal).
func (n *Network) Internal() bool { return n.internal }

// ParseIP parses --ip: an address of the bridge's subnet.
func (n *Network) ParseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !n.subnet.Contains(a) {
		return netip.Addr{}, fmt.Errorf("--ip %q is not an address of the subnet %s of bridge %s", s, n.subnet, n.bridge)
	}
	return a, nil
}

// ParseIP6 parses --ip6: an address of the network's IPv6 subnet.
func (n *Network) ParseIP6(s string) (netip.Addr, error) {
	if !n.DualStack() {
		return netip.Addr{}, fmt.Errorf("--ip6 %s: network %s has no IPv6: create it with --ipv6", s, n.label())
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() || a.Is4In6() {
		return netip.Addr{}, fmt.Errorf("--ip6 %q is not an IPv6 address", s)
	}
	if !n.subnet6.Contains(a) || a == n.subnet6.Addr() || a == n.gateway6 {
		return netip.Addr{}, fmt.Errorf("--ip6 %s is not a host address of the IPv6 subnet %s of network %s (nor its gateway %s)", a, n.subnet6, n.label(), n.gateway6)
	}
	return a, nil
}

// tableName is the nftables table (family ip) of a bridge.
func tableName(bridge string) string { return "edgerun_" + bridge }

// MaxInterfaces is how many networks a container can be on: eth0-eth9.
const MaxInterfaces = 10

// vethName is the host side of a container's veth pair for its interface
// eth<index>: ve<13 ID characters> for eth0, v<index><13 ID characters>
// for eth1-eth9. Unique because container IDs are random, and derivable
// from the ID alone, so leftovers of a killed edgerun are found without
// any record.
func vethName(id string, index int) string {
	if index == 0 {
		return "ve" + id[:min(13, len(id))]
	}
	return "v" + strconv.Itoa(index) + id[:min(13, len(id))]
}

// ifName is the container's side: eth<index>.
func ifName(index int) string { return "eth" + strconv.Itoa(index) }

// nsPath is where a container's network namespace is bind-mounted.
func (n *Network) nsPath(id string) string { return filepath.Join(n.state, id) }

func (n *Network) bridgeDir(bridge string) string { return filepath.Join(n.root, bridge) }

// ownerAlias marks the bridge as this edgerun root's (IFLA_IFALIAS), so a
// bridge of another program, or of another edgerun root, is never adopted;
// a user-defined network's bridge says the network's name too.
func (n *Network) ownerAlias() string {
	if n.name != "" {
		return n.rootAlias() + networkAliasInfix + n.name
	}
	return n.rootAlias()
}

const networkAliasInfix = " network="

// rootAlias is the part of the alias that names the root.
func (n *Network) rootAlias() string {
	a := "edgerun root=" + filepath.Dir(n.root)
	if len(a) > 120 {
		sum := sha256.Sum256([]byte(filepath.Dir(n.root)))
		a = "edgerun root-sha256=" + hex.EncodeToString(sum[:16])
	}
	return a
}

// ownsBridge says whether alias marks a bridge of this root: its default
// bridges' or a user-defined network's.
func (n *Network) ownsBridge(alias string) bool {
	return alias == n.rootAlias() || strings.HasPrefix(alias, n.rootAlias()+networkAliasInfix)
}
