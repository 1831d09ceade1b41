package netns

import (
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

// edgerun's nftables layout, one table per bridge (family ip), and on a
// dual-stack network a second of family ip6 with the same name and rules
// for its IPv6 subnet (no 127.0.0.0/8 rule: IPv6 has no route_localnet):
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

// table6 is a dual-stack network's ip6 table: the same name and layout
// as its ip table, without the 127.0.0.0/8 rule (IPv6 has no
// route_localnet: see ports.go).
func (n *Network) table6(bridge string) *nftables.Table {
	return &nftables.Table{Name: tableName(bridge), Family: nftables.TableFamilyIPv6}
}

// family is what differs between a network's ip and ip6 tables.
type family struct {
	table   *nftables.Table
	nfproto uint8
	subnet  netip.Prefix
	six     bool
}

func (n *Network) fam4() family {
	return family{table: n.table(n.bridge), nfproto: unix.NFPROTO_IPV4, subnet: n.subnet}
}

func (n *Network) fam6() family {
	return family{table: n.table6(n.bridge), nfproto: unix.NFPROTO_IPV6, subnet: n.subnet6, six: true}
}

// families are the network's tables: ip, and ip6 when dual-stack.
func (n *Network) families() []family {
	if n.DualStack() {
		return []family{n.fam4(), n.fam6()}
	}
	return []family{n.fam4()}
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
		return fmt.Errorf("%w: nftables refused edgerun's NAT rules (%w): the kernel needs nf_tables with nft_nat, nft_masq, nft_ct and nft_fib_ipv4 (nft_fib_ipv6 for --ipv6 networks) (CONFIG_NF_TABLES, CONFIG_NFT_NAT, CONFIG_NFT_MASQ, CONFIG_NFT_CT, CONFIG_NFT_FIB_IPV4, CONFIG_NFT_FIB_IPV6), or run with --network host or none",
			ErrUnsupported, err)
	}
	return fmt.Errorf("nftables: %w", err)
}

// baseTag marks the base rules (comment), with the layout version, the
// subnet they were made for and the kind of network.
func (n *Network) baseTag(f family) string {
	t := "edgerun:base:v1:" + f.subnet.String()
	switch {
	case n.internal:
		t += ":internal"
	case n.name != "":
		t += ":isolated"
	}
	return t
}

// baseCounts is how many base rules each base chain holds.
func (n *Network) baseCounts(f family) map[string]int {
	post := 3 // outbound, localhost, hairpin
	if f.six {
		post-- // no localhost rule
	}
	if n.internal {
		post-- // no outbound
	}
	m := map[string]int{"prerouting": 1, "output": 1, "postrouting": post}
	if n.name != "" {
		m["forward"] = 2
	}
	return m
}

// tableCurrent reports whether the base rules are in place already: then
// setup changes nothing (a flush would cost an RCU grace period).
func (n *Network) tableCurrent(c *nftables.Conn, f family) bool {
	t := f.table
	for chain, count := range n.baseCounts(f) {
		rules, err := c.GetRules(t, &nftables.Chain{Name: chain, Table: t})
		if err != nil || len(rules) != count {
			return false
		}
		for _, r := range rules {
			if s, _ := userdata.GetString(r.UserData, userdata.TypeComment); strings.TrimRight(s, "\x00") != n.baseTag(f) {
				return false
			}
		}
	}
	return true
}

// ensureTable creates or refreshes the bridge's tables and base chains:
// ip, and ip6 when the network is dual-stack.
func (n *Network) ensureTable(c *nftables.Conn) error {
	for _, f := range n.families() {
		if err := n.ensureFamilyTable(c, f); err != nil {
			return err
		}
	}
	return nil
}

func (n *Network) ensureFamilyTable(c *nftables.Conn, f family) error {
	if n.tableCurrent(c, f) {
		return nil
	}
	tag := userdata.AppendString(nil, userdata.TypeComment, n.baseTag(f))
	t := c.AddTable(f.table)
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
	var masq [][]expr.Any
	if !n.internal {
		masq = append(masq, append(matchSaddr(f.subnet), matchOif(n.bridge, expr.CmpOpNeq)...))
	}
	if !f.six {
		masq = append(masq, append(matchSaddr(netip.MustParsePrefix("127.0.0.0/8")), matchOif(n.bridge, expr.CmpOpEq)...))
	}
	masq = append(masq, append(append(matchSaddr(f.subnet), matchOif(n.bridge, expr.CmpOpEq)...), matchDNATed()...))
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

// matchSaddr matches a source address in p, of either family.
func matchSaddr(p netip.Prefix) []expr.Any {
	off, size := uint32(12), uint32(4)
	if p.Addr().Is6() {
		off, size = 8, 16
	}
	mask := prefixMask(p)
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: size, Mask: mask, Xor: make([]byte, size)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Addr().AsSlice()},
	}
}

// prefixMask is p's netmask, as bytes of its family's length.
func prefixMask(p netip.Prefix) []byte {
	b := make([]byte, p.Addr().BitLen()/8)
	for i := range p.Bits() {
		b[i/8] |= 1 << (7 - i%8)
	}
	return b
}

// matchDaddr matches a destination address a, of either family.
func matchDaddr(a netip.Addr) []expr.Any {
	off, size := uint32(16), uint32(4)
	if a.Is6() {
		off, size = 24, 16
	}
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: size},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.AsSlice()},
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

// addPortRules adds one DNAT rule per published port and family,
// tagged with the container ID, in one transaction: to a's IPv4 address
// in the ip table and, on a dual-stack network, to its IPv6 address in
// the ip6 table.
func (n *Network) addPortRules(c *nftables.Conn, id string, a *Attachment, ports []PortMapping) error {
	if len(ports) == 0 {
		return nil
	}
	n.queuePortRules(c, id, a.IP, a.IP6, ports)
	if err := c.Flush(); err != nil {
		return nftError(err)
	}
	return nil
}

// queuePortRules adds the DNAT rules of ports to c's transaction: a port
// on every address of the host (no host IP) gets a rule in each table, a
// port on one address only in the table of its family.
func (n *Network) queuePortRules(c *nftables.Conn, id string, ip, ip6 netip.Addr, ports []PortMapping) {
	for _, f := range n.families() {
		to := ip
		if f.six {
			to = ip6
		}
		ch := &nftables.Chain{Name: chainPorts, Table: f.table}
		for _, p := range ports {
			if p.HostIP.IsValid() && p.HostIP.Is6() != f.six {
				continue
			}
			// In a rootless session the host's address is bound by
			// slirp4netns, whose forwards all arrive at the session's
			// tap address: matching the host's address would miss them.
			c.AddRule(&nftables.Rule{Table: f.table, Chain: ch, Exprs: dnatExprs(f, p, to, n.ns == ""),
				UserData: userdata.AppendString(nil, userdata.TypeComment, commentPrefx+id)})
		}
	}
}

// dnatExprs is the rule of one published port: [daddr HOSTIP, with
// matchHost] l4proto PROTO dport HOSTPORT dnat to ADDR:PORT.
func dnatExprs(f family, p PortMapping, to netip.Addr, matchHost bool) []expr.Any {
	var e []expr.Any
	if p.HostIP.IsValid() && matchHost {
		e = append(e, matchDaddr(p.HostIP)...)
	}
	proto := byte(unix.IPPROTO_TCP)
	if p.Proto == "udp" {
		proto = unix.IPPROTO_UDP
	}
	return append(e,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.HostPort)},
		&expr.Immediate{Register: 1, Data: to.AsSlice()},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: uint32(f.nfproto), RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	)
}

// delPortRules removes the rules tagged with id from the bridge's table;
// a missing table or chain means there is nothing to remove.
func (n *Network) delPortRules(c *nftables.Conn, bridge, id string) error {
	return errors.Join(n.delPortRulesIn(c, n.table(bridge), id), n.delPortRulesIn(c, n.table6(bridge), id))
}

func (n *Network) delPortRulesIn(c *nftables.Conn, t *nftables.Table, id string) error {
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
