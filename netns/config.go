package netns

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
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
	return &Network{
		root: filepath.Join(cfg.Root, "network"), state: filepath.Join(cfg.State, "netns"),
		bridge: cfg.Bridge, subnet: p, gateway: p.Addr().Next(), ns: cfg.NS,
	}, nil
}

// Bridge is the bridge name.
func (n *Network) Bridge() string { return n.bridge }

// Subnet is the bridge's subnet.
func (n *Network) Subnet() netip.Prefix { return n.subnet }

// ParseIP parses --ip: an address of the bridge's subnet.
func (n *Network) ParseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !n.subnet.Contains(a) {
		return netip.Addr{}, fmt.Errorf("--ip %q is not an address of the subnet %s of bridge %s", s, n.subnet, n.bridge)
	}
	return a, nil
}

// tableName is the nftables table (family ip) of a bridge.
func tableName(bridge string) string { return "edgerun_" + bridge }

// vethName is the host side of a container's veth pair: unique because
// container IDs are random, and derivable from the ID alone, so leftovers
// of a killed edgerun are found without any record.
func vethName(id string) string { return "ve" + id[:min(13, len(id))] }

// nsPath is where a container's network namespace is bind-mounted.
func (n *Network) nsPath(id string) string { return filepath.Join(n.state, id) }

func (n *Network) bridgeDir(bridge string) string { return filepath.Join(n.root, bridge) }

// ownerAlias marks the bridge as this edgerun root's (IFLA_IFALIAS), so a
// bridge of another program, or of another edgerun root, is never adopted.
func (n *Network) ownerAlias() string {
	a := "edgerun root=" + filepath.Dir(n.root)
	if len(a) > 120 {
		sum := sha256.Sum256([]byte(filepath.Dir(n.root)))
		a = "edgerun root-sha256=" + hex.EncodeToString(sum[:16])
	}
	return a
}
