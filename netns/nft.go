package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// edgerun's nftables layout, one table per bridge (family ip):
//
//	table ip edgerun_<bridge>
//	  chain prerouting  nat hook prerouting prio -100: fib daddr type local jump ports
//	  chain output      nat hook output prio -100:     fib daddr type local jump ports
//	  chain ports       one DNAT rule per published port, comment "edgerun:<id>"
//	  chain postrouting nat hook postrouting prio 100:
//	    ip saddr SUBNET oifname != BRIDGE masquerade           (outbound NAT)
//	    ip saddr 127.0.0.0/8 oifname BRIDGE masquerade          (localhost -> published port)
//	    ip saddr SUBNET oifname BRIDGE ct status dnat masquerade (hairpin)
//
// A user-defined network's table also filters what the host forwards
// (docker's isolation of bridge networks), and an internal one has no
// outbound NAT:
//
//	chain forward     filter hook forward prio 0:
//	  iifname BRIDGE oifname != BRIDGE oifgroup EDGERUN drop  (to another edgerun bridge)
//	  oifname BRIDGE iifname != BRIDGE iifgroup EDGERUN drop  (from another edgerun bridge)
//	internal:
//	  iifname BRIDGE oifname != BRIDGE drop                   (no egress)
//	  oifname BRIDGE iifname != BRIDGE drop                   (no ingress)
//
// A drop in any table is final (an accept only ends its own chain), so
// these hold whatever other firewalls the host has.
//
// The base rules carry the comment edgerun:base:v1:<subnet>; when any is
// missing or different, the base chains are flushed and refilled in one
// transaction (idempotent, atomic); the ports chain is only ever changed rule by
// rule, so containers never lose each other's rules.
const (
	chainPorts   = "ports"
	commentPrefx = "edgerun:"
)

func (n *Network) table(bridge string) *nftables.Table {
	return &nftables.Table{Name: tableName(bridge), Family: nftables.TableFamilyIPv4}
}

func nftConn() (*nftables.Conn, error) {
	c, err := nftables.New(nftables.AsLasting())
	if err != nil {
		return nil, nftError(err)
	}
	return c, nil
}

// nftError says which kernel support is missing when nftables refuses.
func nftError(err error) error {
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) {
		return fmt.Errorf("%w: nftables refused edgerun's NAT rules (%w): the kernel needs nf_tables with nft_nat, nft_masq, nft_ct and nft_fib_ipv4 (CONFIG_NF_TABLES, CONFIG_NFT_NAT, CONFIG_NFT_MASQ, CONFIG_NFT_CT, CONFIG_NFT_FIB_IPV4), or run with --network host or none",
			ErrUnsupported, err)
	}
	return fmt.Errorf("nftables: %w", err)
}

// baseTag marks the base rules (comment), with the layout version, the
// subnet they were made for and the kind of network.
func (n *Network) baseTag() string {
	t := "edgerun:base:v1:" + n.subnet.String()
	switch {
	case n.internal:
		t += ":internal"
	case n.name != "":
		t += ":isolated"
	}
	return t
}

// baseCounts is how many base rules each base chain holds.
func (n *Network) baseCounts() map[string]int {
	switch {
	case n.internal:
		return map[string]int{"prerouting": 1, "output": 1, "postrouting": 2, "forward": 2}
	case n.name != "":
		return map[string]int{"prerouting": 1, "output": 1, "postrouting": 3, "forward": 2}
	}
	return map[string]int{"prerouting": 1, "output": 1, "postrouting": 3}
}

// tableCurrent reports whether the base rules are in place already: then
// setup changes nothing (a flush would cost an RCU grace period).
func (n *Network) tableCurrent(c *nftables.Conn) bool {
	t := n.table(n.bridge)
	for chain, count := range n.baseCounts() {
		rules, err := c.GetRules(t, &nftables.Chain{Name: chain, Table: t})
		if err != nil || len(rules) != count {
			return false
		}
		for _, r := range rules {
			if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); strings.TrimRight(s, "\x00") != n.baseTag() {
				return false
			}
		}
	}
	return true
}

// ensureTable creates or refreshes the bridge's table and base chains.
func (n *Network) ensureTable(c *nftables.Conn) error {
	if n.tableCurrent(c) {
		return nil
	}
	tag := userdata.AppendString(nil, userdata.TypeComment, n.baseTag())
	t := c.AddTable(n.table(n.bridge))
	nat := func(name string, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
		return c.AddChain(&nftables.Chain{Name: name, Table: t, Type: nftables.ChainTypeNAT, Hooknum: hook, Priority: prio})
	}
	ports := c.AddChain(&nftables.Chain{Name: chainPorts, Table: t})
	pre := nat("prerouting", nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest)
	out := nat("output", nftables.ChainHookOutput, nftables.ChainPriorityNATDest)
	post := nat("postrouting", nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
	for _, ch := range []*nftables.Chain{pre, out, post} {
		c.FlushChain(ch)
	}
	toLocal := []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
		&expr.Verdict{Kind: expr.VerdictJump, Chain: ports.Name},
	}
	c.AddRule(&nftables.Rule{Table: t, Chain: pre, Exprs: toLocal, UserData: tag})
	c.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: toLocal, UserData: tag})
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	masq := [][]expr.Any{
		append(matchSaddr(loopback), matchOif(n.bridge, expr.CmpOpEq)...),
		append(append(matchSaddr(n.subnet), matchOif(n.bridge, expr.CmpOpEq)...), matchDNATed()...),
	}
	if !n.internal {
		masq = append([][]expr.Any{append(matchSaddr(n.subnet), matchOif(n.bridge, expr.CmpOpNeq)...)}, masq...)
	}
	for _, m := range masq {
		c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: append(m, &expr.Masq{}), UserData: tag})
	}
	if n.name != "" {
		fwd := c.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter})
		c.FlushChain(fwd)
		for _, m := range n.isolation() {
			c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: append(m, &expr.Verdict{Kind: expr.VerdictDrop}), UserData: tag})
		}
	}
	if err := c.Flush(); err != nil {
		return nftError(err)
	}
	return nil
}

// isolation is the matches of the forward chain's drops (see above).
func (n *Network) isolation() [][]expr.Any {
	out := append(matchIif(n.bridge, expr.CmpOpEq), matchOif(n.bridge, expr.CmpOpNeq)...)
	in := append(matchOif(n.bridge, expr.CmpOpEq), matchIif(n.bridge, expr.CmpOpNeq)...)
	if n.internal {
		return [][]expr.Any{out, in}
	}
	group := func(key expr.MetaKey) []expr.Any {
		return []expr.Any{
			&expr.Meta{Key: key, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(bridgeGroup)},
		}
	}
	return [][]expr.Any{append(out, group(expr.MetaKeyOIFGROUP)...), append(in, group(expr.MetaKeyIIFGROUP)...)}
}

func matchIif(name string, op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifname(name)},
	}
}

func matchSaddr(p netip.Prefix) []expr.Any {
	mask := binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-p.Bits()))
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Addr().AsSlice()},
	}
}

func matchOif(name string, op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: op, Register: 1, Data: ifname(name)},
	}
}

// matchDNATed matches connections whose destination was rewritten.
func matchDNATed() []expr.Any {
	const ipsDstNAT = 1 << 5 // IPS_DST_NAT
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}

// addPortRules adds one DNAT rule per published port, tagged with the
// container ID, in one transaction.
func (n *Network) addPortRules(c *nftables.Conn, id string, ip netip.Addr, ports []PortMapping) error {
	if len(ports) == 0 {
		return nil
	}
	n.queuePortRules(c, id, ip, ports)
	if err := c.Flush(); err != nil {
		return nftError(err)
	}
	return nil
}

// queuePortRules adds the DNAT rules of ports to c's transaction.
func (n *Network) queuePortRules(c *nftables.Conn, id string, ip netip.Addr, ports []PortMapping) {
	t := n.table(n.bridge)
	ch := &nftables.Chain{Name: chainPorts, Table: t}
	for _, p := range ports {
		var e []expr.Any
		// In a rootless session the host's address is bound by
		// slirp4netns, whose forwards all arrive at the session's tap
		// address: matching the host's address here would miss them.
		if p.HostIP.IsValid() && n.ns == "" {
			e = append(e,
				&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.HostIP.AsSlice()})
		}
		proto := byte(unix.IPPROTO_TCP)
		if p.Proto == "udp" {
			proto = unix.IPPROTO_UDP
		}
		e = append(e,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.HostPort)},
			&expr.Immediate{Register: 1, Data: ip.AsSlice()},
			&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
			&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
		)
		c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: e,
			UserData: userdata.AppendString(nil, userdata.TypeComment, commentPrefx+id)})
	}
}

// delPortRules removes the rules tagged with id from the bridge's table;
// a missing table or chain means there is nothing to remove.
func (n *Network) delPortRules(c *nftables.Conn, bridge, id string) error {
	t := n.table(bridge)
	rules, err := c.GetRules(t, &nftables.Chain{Name: chainPorts, Table: t})
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return nftError(err)
	}
	found := false
	for _, r := range rules {
		if s, ok := userdata.GetString(r.UserData, userdata.TypeComment); ok && strings.TrimRight(s, "\x00") == commentPrefx+id {
			if err := c.DelRule(r); err != nil {
				return nftError(err)
			}
			found = true
		}
	}
	if !found {
		return nil
	}
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return nftError(err)
	}
	return nil
}
