package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// edgerun adds no filter rules: in netfilter every base chain on a hook
// sees the packet, an accept ends only its own chain and a drop anywhere
// is final, so no accept in edgerun's table can undo the drop of the
// host's firewall (docs/architecture.md, "Networking"). What it does is
// find the forward chains that would drop a bridge's traffic, and say
// which rules of the host's own firewall would let it through.

// ForwardBlock is a base chain of the host's firewall on the forward hook
// (families ip and inet; edgerun's networks are IPv4) that drops what a
// bridge forwards.
type ForwardBlock struct {
	Bridge                string
	Family, Table, Chain  string
	Policy                string // the chain's policy: accept or drop
	Out, Replies, Inbound bool   // which of the bridge's traffic it drops
	// Commands insert at the top of the chain the rules that accept the
	// blocked traffic, with the tool that manages the chain (nft,
	// iptables for iptables-nft's FORWARD, firewall-cmd for firewalld).
	Commands []string
}

// Where names the chain: table inet filter, chain forward (policy drop).
func (b ForwardBlock) Where() string {
	return fmt.Sprintf("table %s %s, chain %s (policy %s)", b.Family, b.Table, b.Chain, b.Policy)
}

// Problem says what the chain drops, as a sentence for the user.
func (b ForwardBlock) Problem() string {
	var what []string
	if b.Out {
		what = append(what, "containers' connections to other networks")
	}
	if b.Replies {
		what = append(what, "the replies to them")
	}
	if b.Inbound {
		what = append(what, "connections from other hosts to published ports")
	}
	return fmt.Sprintf("%s drops what bridge %s forwards: %s", b.Where(), b.Bridge, strings.Join(what, ", "))
}

// ForwardBlocks reads the ruleset over netlink (in the network's
// namespace) and returns the forward chains that drop this bridge's
// traffic; nil when none does. It changes nothing.
func (n *Network) ForwardBlocks() (blocks []ForwardBlock, err error) {
	err = n.inNS(func() error {
		blocks, err = n.forwardBlocks()
		return err
	})
	return blocks, err
}

// noteForwardBlocks tells notice about the forward chains that drop the
// bridge's traffic; a ruleset it cannot read is not worth a note.
func (n *Network) noteForwardBlocks(notice func(string)) {
	blocks, _ := n.forwardBlocks()
	for _, b := range blocks {
		notice(fmt.Sprintf("%s; to allow it, run: %s (edgerun doctor checks this again)", b.Problem(), strings.Join(b.Commands, "; ")))
	}
}

func (n *Network) forwardBlocks() ([]ForwardBlock, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	defer h.Close()
	c, err := nftables.New()
	if err != nil {
		return nil, nftError(err)
	}
	defer c.CloseLasting()
	chains, err := c.ListChains()
	if err != nil {
		return nil, fmt.Errorf("list nftables chains: %w", err)
	}
	w := &ruleset{chains: chains, get: func(ch *nftables.Chain) ([]*nftables.Rule, error) { return c.GetRules(ch.Table, ch) }}
	return w.blocks(n.bridge, n.probes(h))
}

// blocks judges every forward base chain of families ip and inet but
// edgerun's own tables.
func (w *ruleset) blocks(bridge string, p probes) ([]ForwardBlock, error) {
	var blocks []ForwardBlock
	for _, ch := range w.chains {
		fam, ok := familyName(ch.Table.Family)
		if !ok || ch.Hooknum == nil || *ch.Hooknum != *nftables.ChainHookForward || strings.HasPrefix(ch.Table.Name, "edgerun_") {
			continue
		}
		b := ForwardBlock{Bridge: bridge, Family: fam, Table: ch.Table.Name, Chain: ch.Name, Policy: "accept",
			Out: w.drops(ch, p.out), Replies: w.drops(ch, p.replies), Inbound: w.drops(ch, p.inbound)}
		if ch.Policy != nil && *ch.Policy == nftables.ChainPolicyDrop {
			b.Policy = "drop"
		}
		if w.err != nil {
			return nil, w.err
		}
		if b.Out || b.Replies || b.Inbound {
			b.Commands = w.commands(b)
			blocks = append(blocks, b)
		}
	}
	return blocks, nil
}

func familyName(f nftables.TableFamily) (string, bool) {
	switch f {
	case nftables.TableFamilyIPv4:
		return "ip", true
	case nftables.TableFamilyINet:
		return "inet", true
	}
	return "", false
}

// probes are the bridge's three kinds of forwarded packets: a container's
// new connection out, a reply to it (masqueraded), and a new connection
// from another host to a published port (DNATed).
type probes struct{ out, replies, inbound probe }

func (n *Network) probes(h *netlink.Handle) probes {
	var brIndex, upIndex uint32
	var upName string
	if l, err := h.LinkByName(n.bridge); err == nil {
		brIndex = uint32(l.Attrs().Index)
	}
	if l := uplink(h); l != nil {
		upName, upIndex = l.Attrs().Name, uint32(l.Attrs().Index)
	}
	return bridgeProbes(n.bridge, brIndex, upName, upIndex, n.gateway.Next())
}

// bridgeProbes are the probes of a bridge and uplink (a zero index or an
// empty name: unknown), for ctr, a container's address.
func bridgeProbes(bridge string, brIndex uint32, upName string, upIndex uint32, ctr netip.Addr) probes {
	out := probe{iifname: bridge, iif: brIndex, oifname: upName, oif: upIndex, saddr: ctr, ctState: ctNew}
	replies := probe{iifname: upName, iif: upIndex, oifname: bridge, oif: brIndex, daddr: ctr,
		ctState: ctEstablished | xtStateSNAT, ctStatus: ipsSrcNAT}
	inbound := probe{iifname: upName, iif: upIndex, oifname: bridge, oif: brIndex, daddr: ctr,
		ctState: ctNew | xtStateDNAT, ctStatus: ipsDstNAT}
	return probes{out, replies, inbound}
}

// uplink is the interface of the default route, nil without one.
func uplink(h *netlink.Handle) netlink.Link {
	routes, err := retry(func() ([]netlink.Route, error) { return h.RouteList(nil, netlink.FAMILY_V4) })
	if err != nil {
		return nil
	}
	for _, r := range routes {
		if p, ok := netipPrefix(r.Dst); (!ok || p.Bits() == 0) && r.LinkIndex > 0 {
			if l, err := h.LinkByIndex(r.LinkIndex); err == nil {
				return l
			}
		}
	}
	return nil
}

// ruleset runs probes through chains, reading each chain's rules once.
type ruleset struct {
	chains []*nftables.Chain
	get    func(*nftables.Chain) ([]*nftables.Rule, error)
	rules  map[string][]*nftables.Rule
	err    error
}

// verdicts of a chain walk
const (
	fellThrough = iota
	accepted
	dropped
)

// drops reports whether base chain ch drops p.
func (w *ruleset) drops(ch *nftables.Chain, p probe) bool {
	switch w.walk(ch, p, 0) {
	case dropped:
		return true
	case accepted:
		return false
	}
	return ch.Policy != nil && *ch.Policy == nftables.ChainPolicyDrop
}

// walk runs p through ch's rules (and the chains they jump to).
func (w *ruleset) walk(ch *nftables.Chain, p probe, depth int) int {
	if depth > 16 {
		return fellThrough
	}
	for _, r := range w.rulesOf(ch) {
		m, act := p.rule(r)
		if m != yes || !act.set || !act.known {
			continue
		}
		switch act.kind {
		case expr.VerdictAccept:
			return accepted
		case expr.VerdictDrop:
			return dropped
		case expr.VerdictReturn:
			return fellThrough
		case expr.VerdictJump, expr.VerdictGoto:
			target := w.chain(ch.Table, act.chain)
			if target == nil {
				continue
			}
			if v := w.walk(target, p, depth+1); v != fellThrough || act.kind == expr.VerdictGoto {
				return v
			}
		}
	}
	return fellThrough
}

func (w *ruleset) chain(t *nftables.Table, name string) *nftables.Chain {
	for _, ch := range w.chains {
		if ch.Name == name && ch.Table.Name == t.Name && ch.Table.Family == t.Family {
			return ch
		}
	}
	return nil
}

func (w *ruleset) rulesOf(ch *nftables.Chain) []*nftables.Rule {
	key := fmt.Sprintf("%d/%s/%s", ch.Table.Family, ch.Table.Name, ch.Name)
	if rs, ok := w.rules[key]; ok {
		return rs
	}
	if w.rules == nil {
		w.rules = map[string][]*nftables.Rule{}
	}
	rs, err := w.get(ch)
	if err != nil && !errors.Is(err, unix.ENOENT) && w.err == nil {
		w.err = fmt.Errorf("read the rules of nftables chain %s in table %s: %w", ch.Name, ch.Table.Name, err)
	}
	w.rules[key] = rs
	return rs
}

// commands are the rules that let b's blocked traffic through, for the
// tool that manages b's chain.
func (w *ruleset) commands(b ForwardBlock) []string {
	br := b.Bridge
	switch {
	case b.Family == "inet" && b.Table == "firewalld":
		// firewalld rewrites its table on every reload: nft rules added
		// to it would not last. Its trusted zone accepts what enters
		// from its interfaces.
		return []string{"firewall-cmd --permanent --zone=trusted --add-interface=" + br, "firewall-cmd --reload"}
	case b.Family == "ip" && b.Table == "filter" && b.Chain == "FORWARD":
		// iptables-nft's FORWARD; docker's DOCKER-USER is where docker
		// wants the host's own rules.
		chain := "FORWARD"
		if w.chain(&nftables.Table{Name: "filter", Family: nftables.TableFamilyIPv4}, "DOCKER-USER") != nil {
			chain = "DOCKER-USER"
		}
		var cmds []string
		if b.Inbound {
			cmds = append(cmds, fmt.Sprintf("iptables -I %s -o %s -m conntrack --ctstate DNAT -j ACCEPT", chain, br))
		}
		if b.Replies {
			cmds = append(cmds, fmt.Sprintf("iptables -I %s -o %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", chain, br))
		}
		if b.Out {
			cmds = append(cmds, fmt.Sprintf("iptables -I %s -i %s -j ACCEPT", chain, br))
		}
		return cmds
	}
	at := fmt.Sprintf("nft insert rule %s %s %s", b.Family, b.Table, b.Chain)
	var cmds []string
	if b.Inbound {
		cmds = append(cmds, fmt.Sprintf("%s oifname %q ct status dnat accept", at, br))
	}
	if b.Replies {
		cmds = append(cmds, fmt.Sprintf("%s oifname %q ct state established,related accept", at, br))
	}
	if b.Out {
		cmds = append(cmds, fmt.Sprintf("%s iifname %q accept", at, br))
	}
	return cmds
}
