package netns

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgerun/edgerun/internal/ids"
)

// Definition is a user-defined network, what `network create` made:
// <root>/networks/NAME.json. The bridge is made from it when the network
// is created and again whenever it is missing (after a reboot).
type Definition struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"` // random 64 hex, as docker's
	Created time.Time `json:"created"`
	Bridge  string    `json:"bridge"`
	// IPAM holds the IPv4 subnet first; a dual-stack network's IPv6
	// subnet (--ipv6) follows it.
	IPAM     []IPAM            `json:"ipam"`
	Internal bool              `json:"internal,omitempty"`
	MTU      int               `json:"mtu,omitempty"`     // 0: the uplink's
	Options  map[string]string `json:"options,omitempty"` // -o as given
	Labels   map[string]string `json:"labels,omitempty"`
}

// IPAM is one subnet of a network and its gateway (the bridge's address).
type IPAM struct {
	Subnet  netip.Prefix `json:"subnet"`
	Gateway netip.Addr   `json:"gateway"`
}

// Subnet4 is the network's IPv4 subnet and gateway.
func (d *Definition) Subnet4() IPAM {
	for _, c := range d.IPAM {
		if c.Subnet.Addr().Is4() {
			return c
		}
	}
	return IPAM{}
}

// Subnet6 is a dual-stack network's IPv6 subnet and gateway; zero when
// the network is IPv4 only.
func (d *Definition) Subnet6() IPAM {
	for _, c := range d.IPAM {
		if c.Subnet.Addr().Is6() {
			return c
		}
	}
	return IPAM{}
}

// CreateOptions are the inputs of `network create`.
type CreateOptions struct {
	Name     string
	Subnet   string // --subnet (IPv4); "" picks a free /24 of SubnetPool
	Gateway  string // --gateway (IPv4); "" is the subnet's first address
	Internal bool   // --internal
	IPv6     bool   // --ipv6: dual-stack
	Subnet6  string // the IPv6 --subnet; "" with IPv6 is a ULA /64 (ULASubnet)
	Gateway6 string // the IPv6 --gateway; "" is the IPv6 subnet's first host address
	Options  map[string]string
	Labels   map[string]string
}

// Names a user-defined network may not have: docker's predefined ones.
var reservedNames = []string{"bridge", "host", "none", "default"}

// maxNameLen bounds a network's name: it is a file name and part of the
// bridge's alias.
const maxNameLen = 64

// CheckName refuses network names docker would refuse, and the names of
// the predefined networks.
func CheckName(name string) error {
	if len(name) > maxNameLen || !ids.ValidName(name) {
		return fmt.Errorf("%w: network name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit (at most %d)", ErrInvalid, name, maxNameLen)
	}
	if slices.Contains(reservedNames, name) {
		return fmt.Errorf("%w: network name %q is a predefined network (bridge, host, none, default): choose another name", ErrInvalid, name)
	}
	return nil
}

// The -o keys of a network, docker's and the short forms.
const (
	optBridgeName = "com.docker.network.bridge.name"
	optMTU        = "com.docker.network.driver.mtu"
)

// DriverOptions are what a network's -o options ask for.
type DriverOptions struct {
	Bridge string // the bridge's name; "" is er_<12 ID characters>
	MTU    int    // 0: the uplink's
}

// ParseOptions reads -o: com.docker.network.bridge.name or bridge, and
// com.docker.network.driver.mtu or mtu. Any other key is refused, so a
// typo is not silently ignored.
func ParseOptions(opts map[string]string) (DriverOptions, error) {
	var d DriverOptions
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	seen := map[string]string{}
	for _, k := range keys {
		v := opts[k]
		var canon string
		switch k {
		case optBridgeName, "bridge":
			canon = optBridgeName
			if !validBridge.MatchString(v) {
				return d, fmt.Errorf("%w: -o %s=%s: use 1-15 letters, digits, '_' or '.' for the bridge name", ErrInvalid, k, v)
			}
			d.Bridge = v
		case optMTU, "mtu":
			canon = optMTU
			n, err := strconv.Atoi(v)
			if err != nil || n < minMTU || n > maxMTU {
				return d, fmt.Errorf("%w: -o %s=%s: the MTU is a number in %d-%d", ErrInvalid, k, v, minMTU, maxMTU)
			}
			d.MTU = n
		default:
			return d, fmt.Errorf("%w: -o %s: unknown option: use bridge=NAME (%s) or mtu=N (%s)", ErrInvalid, k, optBridgeName, optMTU)
		}
		if other, ok := seen[canon]; ok {
			return d, fmt.Errorf("%w: -o %s and -o %s set the same option: give one", ErrInvalid, other, k)
		}
		seen[canon] = k
	}
	return d, nil
}

// ParseKeyValues reads repeated KEY=VALUE flags (-o, --label) into a map;
// a bare KEY has an empty value, as docker's --label. flag names the flag
// in errors.
func ParseKeyValues(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); k == "" {
			return nil, fmt.Errorf("%w: %s %q: use KEY=VALUE", ErrInvalid, flag, kv)
		}
		m[k] = v
	}
	return m, nil
}

// SubnetPool is where `network create` without --subnet takes a /24 from:
// 10.91.0.0/24 up to 10.99.255.0/24. It avoids docker's 172.17-31/16 and
// 192.168/16 pools, podman's 10.88/16 and 10.89/16, k3s's 10.42/16 and
// 10.43/16, and edgerun's default 10.90.0.0/24.
var SubnetPool = struct {
	First, Last netip.Prefix
}{netip.MustParsePrefix("10.91.0.0/24"), netip.MustParsePrefix("10.99.255.0/24")}

// nextPoolSubnet is the first /24 of the pool after from (invalid: the
// first of the pool) that overlaps none of taken; false when none is left.
func nextPoolSubnet(from netip.Prefix, taken []netip.Prefix) (netip.Prefix, bool) {
	p := SubnetPool.First
	if from.IsValid() {
		p = nextSlash24(from)
	}
	for ; p.IsValid() && p.Addr().Compare(SubnetPool.Last.Addr()) <= 0; p = nextSlash24(p) {
		if !slices.ContainsFunc(taken, p.Overlaps) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

func nextSlash24(p netip.Prefix) netip.Prefix {
	b := p.Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8
	v += 1 << 8
	if v < 1<<8 { // wrapped
		return netip.Prefix{}
	}
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), 0}), 24)
}

// InUseError is the refusal to remove a network containers are on.
type InUseError struct {
	Network string
	IDs     []string // the containers, running or stopped
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("network %s is in use by %d container(s) (%.12s): disconnect or remove them first", e.Network, len(e.IDs), e.IDs[0])
}

func (e *InUseError) Unwrap() error { return ErrNetworkInUse }

// Users lists the containers (alive) with an address on the network, by
// ID.
func (n *Network) Users(alive func(string) bool) ([]string, error) {
	ls, err := n.Leases()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range ls {
		if alive(l.ID) && !slices.Contains(out, l.ID) {
			out = append(out, l.ID)
		}
	}
	return out, nil
}

// checkDefined refuses to set up a user-defined network whose definition
// is not the one it was opened from (removed, or removed and made again,
// meanwhile); the network lock is held. So no bridge is made again for a
// network that is gone.
func (n *Network) checkDefined() error {
	if n.defPath == "" {
		return nil
	}
	b, err := os.ReadFile(n.defPath)
	var d Definition
	if err != nil || json.Unmarshal(b, &d) != nil || d.ID != n.defID {
		return fmt.Errorf("%w: network %s was removed meanwhile", ErrNoSuchNetwork, n.name)
	}
	return nil
}

// SplitByFamily sorts docker's repeated --subnet (or --gateway) values
// into the IPv4 and the IPv6 one; when a family is given twice, the last
// one counts (edgerun networks have one subnet per family). What parses
// as neither is returned as the IPv4 value, for the IPv4 checks to refuse.
func SplitByFamily(vals []string) (v4, v6 string) {
	for _, v := range vals {
		a, _, _ := strings.Cut(v, "/")
		if ip, err := netip.ParseAddr(a); err == nil && ip.Is6() && !ip.Is4In6() {
			v6 = v
		} else {
			v4 = v
		}
	}
	return v4, v6
}
