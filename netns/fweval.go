package netns

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"
)

// A forward chain of the host's firewall is judged by running three
// packets of a bridge's traffic through it, as the kernel would, as far
// as its rules can be read: what a container sends out, the replies that
// come back, and a new connection from another host to a published port.
// A rule whose conditions cannot be evaluated (sets, protocols, ports,
// rate limits) counts as not matching, so a verdict is only ever taken
// from rules that match every such packet: a chain that accepts only
// some of them is reported as blocking.

// probe is one packet as a forward chain sees it; zero fields are unknown.
type probe struct {
	iifname, oifname string
	iif, oif         uint32
	saddr, daddr     netip.Addr
	ctState          uint32 // nft's ct state bits (and xt_conntrack's, with its SNAT/DNAT bits)
	ctStatus         uint32 // IPS_* bits
}

// The ct state bits of nft and xt_conntrack, and the IPS_* status bits.
const (
	ctInvalid     = 1 << 0
	ctEstablished = 1 << 1
	ctRelated     = 1 << 2
	ctNew         = 1 << 3
	xtStateSNAT   = 1 << 6 // XT_CONNTRACK_STATE_SNAT
	xtStateDNAT   = 1 << 7 // XT_CONNTRACK_STATE_DNAT

	ipsSrcNAT = 1 << 4
	ipsDstNAT = 1 << 5
)

// tri is a condition's value: it holds, it does not, or it cannot be told.
type tri int

const (
	no tri = iota
	yes
	unknown
)

// regs are nft's registers: NFT_REG_1..4 (16 bytes each) and the 32-bit
// NFT_REG32_00..15 alias the same 64 bytes; a byte may be unknown.
type regs struct {
	data  [64]byte
	known [64]bool
}

func regOffset(r uint32) (int, bool) {
	switch {
	case r >= 1 && r <= 4:
		return int(r-1) * 16, true
	case r >= 8 && r <= 23:
		return int(r-8) * 4, true
	}
	return 0, false
}

// set loads v into register r; nil v makes n bytes of it unknown.
func (g *regs) set(r uint32, v []byte, n int) {
	off, ok := regOffset(r)
	if !ok {
		return
	}
	for i := 0; i < n && off+i < len(g.data); i++ {
		g.known[off+i] = v != nil
		if v != nil {
			g.data[off+i] = v[i]
		}
	}
}

// get returns n bytes of register r, nil when any is unknown.
func (g *regs) get(r uint32, n int) []byte {
	off, ok := regOffset(r)
	if !ok || off+n > len(g.data) {
		return nil
	}
	for i := range n {
		if !g.known[off+i] {
			return nil
		}
	}
	return g.data[off : off+n]
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// load is what a load expression puts in a register (nil: unknown).
func (p probe) load(e expr.Any) (reg uint32, v []byte, n int, ok bool) {
	switch e := e.(type) {
	case *expr.Meta:
		if e.SourceRegister {
			return 0, nil, 0, false
		}
		v, n := p.meta(e.Key)
		return e.Register, v, n, true
	case *expr.Ct:
		if e.SourceRegister {
			return 0, nil, 0, false
		}
		switch e.Key {
		case expr.CtKeySTATE:
			return e.Register, u32(p.ctState &^ (xtStateSNAT | xtStateDNAT)), 4, true
		case expr.CtKeySTATUS:
			return e.Register, u32(p.ctStatus), 4, true
		}
		return e.Register, nil, 16, true
	case *expr.Payload:
		if e.OperationType != expr.PayloadLoad {
			return 0, nil, 0, false
		}
		var a netip.Addr
		if e.Base == expr.PayloadBaseNetworkHeader && e.Len == 4 {
			a = map[uint32]netip.Addr{12: p.saddr, 16: p.daddr}[e.Offset]
		}
		if a.IsValid() {
			return e.DestRegister, a.AsSlice(), 4, true
		}
		return e.DestRegister, nil, int(e.Len), true
	}
	return 0, nil, 0, false
}

func (p probe) meta(k expr.MetaKey) ([]byte, int) {
	name := func(s string) []byte {
		if s == "" {
			return nil
		}
		return ifname(s)
	}
	index := func(i uint32) []byte {
		if i == 0 {
			return nil
		}
		return u32(i)
	}
	switch k {
	case expr.MetaKeyIIFNAME:
		return name(p.iifname), unix.IFNAMSIZ
	case expr.MetaKeyOIFNAME:
		return name(p.oifname), unix.IFNAMSIZ
	case expr.MetaKeyIIF:
		return index(p.iif), 4
	case expr.MetaKeyOIF:
		return index(p.oif), 4
	case expr.MetaKeyNFPROTO:
		return []byte{unix.NFPROTO_IPV4}, 1
	case expr.MetaKeyPROTOCOL:
		return []byte{0x08, 0x00}, 2
	}
	return nil, 16
}

// action is what a matching rule does.
type action struct {
	kind  expr.VerdictKind
	chain string
	set   bool // the rule has a verdict (else it only counts, logs, ...)
	known bool // false: a target or statement this does not model
}

// rule evaluates one rule for p: whether it matches, and its verdict.
func (p probe) rule(r *nftables.Rule) (tri, action) {
	var g regs
	m, act := yes, action{known: true}
	for _, e := range r.Exprs {
		if reg, v, n, ok := p.load(e); ok {
			g.set(reg, v, n)
			continue
		}
		switch e := e.(type) {
		case *expr.Bitwise:
			src := g.get(e.SourceRegister, int(e.Len))
			if src == nil || len(e.Mask) < int(e.Len) || len(e.Xor) < int(e.Len) {
				g.set(e.DestRegister, nil, int(e.Len))
				continue
			}
			out := make([]byte, e.Len)
			for i := range out {
				out[i] = src[i]&e.Mask[i] ^ e.Xor[i]
			}
			g.set(e.DestRegister, out, int(e.Len))
		case *expr.Cmp:
			m = and(m, cmp(e.Op, g.get(e.Register, len(e.Data)), e.Data))
		case *expr.Match:
			m = and(m, p.xtMatch(e))
		case *expr.Verdict:
			act.kind, act.chain, act.set = e.Kind, e.Chain, true
		case *expr.Reject:
			act.kind, act.set = expr.VerdictDrop, true
		case *expr.Target:
			switch e.Name {
			case "REJECT":
				act.kind, act.set = expr.VerdictDrop, true
			case "LOG", "NFLOG":
			default:
				act.known = false
			}
		case *expr.Counter, *expr.Log:
		default:
			m = and(m, unknown)
		}
		if m == no {
			return no, act
		}
	}
	return m, act
}

func and(a, b tri) tri {
	switch {
	case a == no || b == no:
		return no
	case a == unknown || b == unknown:
		return unknown
	}
	return yes
}

// cmp is nft_cmp: memcmp of the register with the data.
func cmp(op expr.CmpOp, reg, data []byte) tri {
	if reg == nil {
		return unknown
	}
	d := bytes.Compare(reg, data)
	var ok bool
	switch op {
	case expr.CmpOpEq:
		ok = d == 0
	case expr.CmpOpNeq:
		ok = d != 0
	case expr.CmpOpLt:
		ok = d < 0
	case expr.CmpOpLte:
		ok = d <= 0
	case expr.CmpOpGt:
		ok = d > 0
	case expr.CmpOpGte:
		ok = d >= 0
	default:
		return unknown
	}
	if ok {
		return yes
	}
	return no
}

// xtMatch evaluates the iptables-nft matches a forward rule of docker's
// kind uses: -m conntrack --ctstate and -m state (both xt conntrack);
// -m comment is no condition.
func (p probe) xtMatch(e *expr.Match) tri {
	var base *xt.ConntrackMtinfoBase
	var mask uint16
	switch i := e.Info.(type) {
	case *xt.ConntrackMtinfo1:
		base, mask = &i.ConntrackMtinfoBase, uint16(i.StateMask)
	case *xt.ConntrackMtinfo2:
		base, mask = &i.ConntrackMtinfoBase, i.StateMask
	case *xt.ConntrackMtinfo3:
		base, mask = &i.ConntrackMtinfoBase, i.StateMask
	case *xt.Comment:
		return yes
	default:
		return unknown
	}
	if base.MatchFlags != uint16(xt.ConntrackState) {
		return unknown // other conntrack conditions than the state
	}
	hit := p.ctState&uint32(mask) != 0
	if base.InvertFlags&uint16(xt.ConntrackState) != 0 {
		hit = !hit
	}
	if hit {
		return yes
	}
	return no
}
