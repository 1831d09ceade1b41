package netns

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"
)

// Rules as nft and iptables-nft put them in the kernel (the shapes were
// read back from both tools on a 6.x kernel).

func rule(parts ...[]expr.Any) []expr.Any { return slices.Concat(parts...) }

// nftIf is nft's iifname/oifname "NAME": the whole IFNAMSIZ buffer.
func nftIf(key expr.MetaKey, name string) []expr.Any {
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(name)}}
}

// iptIf is iptables-nft's -i/-o NAME (NAME and a NUL; NAME+ is a prefix
// without the NUL), negated with !.
func iptIf(key expr.MetaKey, name string, not bool) []expr.Any {
	data := []byte(name + "\x00")
	if strings.HasSuffix(name, "+") {
		data = []byte(strings.TrimSuffix(name, "+"))
	}
	op := expr.CmpOpEq
	if not {
		op = expr.CmpOpNeq
	}
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: data}}
}

// ctBits is nft's ct state/status BITS: a bitwise and a compare with 0.
func ctBits(key expr.CtKey, bits uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: key, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// xtState is iptables-nft's -m conntrack --ctstate (and -m state).
func xtState(mask uint16, not bool) []expr.Any {
	i := &xt.ConntrackMtinfo3{}
	i.MatchFlags, i.StateMask = uint16(xt.ConntrackState), mask
	if not {
		i.InvertFlags = uint16(xt.ConntrackState)
	}
	return []expr.Any{&expr.Match{Name: "conntrack", Rev: 3, Info: i}}
}

func verdict(k expr.VerdictKind, chain string) []expr.Any {
	return []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: k, Chain: chain}}
}

var (
	accept = verdict(expr.VerdictAccept, "")
	drop   = verdict(expr.VerdictDrop, "")
	ret    = verdict(expr.VerdictReturn, "")
)

// fakeRuleset is a ruleset of in-memory chains.
type fakeRuleset struct {
	chains []*nftables.Chain
	rules  map[*nftables.Chain][]*nftables.Rule
}

func (f *fakeRuleset) chain(fam nftables.TableFamily, table, name string, hook bool, policy nftables.ChainPolicy, rules ...[]expr.Any) *fakeRuleset {
	ch := &nftables.Chain{Name: name, Table: &nftables.Table{Name: table, Family: fam}}
	if hook {
		ch.Hooknum, ch.Policy = nftables.ChainHookForward, &policy
	}
	f.chains = append(f.chains, ch)
	for _, r := range rules {
		f.rules[ch] = append(f.rules[ch], &nftables.Rule{Exprs: r})
	}
	return f
}

func newFake() *fakeRuleset { return &fakeRuleset{rules: map[*nftables.Chain][]*nftables.Rule{}} }

func (f *fakeRuleset) blocks(t *testing.T) []ForwardBlock {
	t.Helper()
	w := &ruleset{chains: f.chains, get: func(ch *nftables.Chain) ([]*nftables.Rule, error) { return f.rules[ch], nil }}
	b, err := w.blocks("edgerun0", bridgeProbes("edgerun0", 7, "eth0", 2, netip.MustParseAddr("10.90.0.2")))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	inet  = nftables.TableFamilyINet
	ip4   = nftables.TableFamilyIPv4
	ip6   = nftables.TableFamilyIPv6
	pDrop = nftables.ChainPolicyDrop
	pAcc  = nftables.ChainPolicyAccept
)

var (
	estRel     = ctBits(expr.CtKeySTATE, ctEstablished|ctRelated)
	iifBridge  = nftIf(expr.MetaKeyIIFNAME, "edgerun0")
	oifBridge  = nftIf(expr.MetaKeyOIFNAME, "edgerun0")
	dnatStatus = ctBits(expr.CtKeySTATUS, ipsDstNAT)
)

func TestForwardBlocksOfNftTables(t *testing.T) {
	nftCmd := func(rest string) string { return "nft insert rule inet filter forward " + rest }
	allThree := []string{nftCmd(`oifname "edgerun0" ct status dnat accept`),
		nftCmd(`oifname "edgerun0" ct state established,related accept`), nftCmd(`iifname "edgerun0" accept`)}
	cases := []struct {
		name                  string
		f                     *fakeRuleset
		out, replies, inbound bool
		commands              []string
	}{
		{"policy drop, no rules", newFake().chain(inet, "filter", "forward", true, pDrop),
			true, true, true, allThree},
		{"policy accept", newFake().chain(inet, "filter", "forward", true, pAcc), false, false, false, nil},
		{"a desktop firewall: established and the bridge out",
			newFake().chain(inet, "filter", "forward", true, pDrop, rule(estRel, accept), rule(iifBridge, accept)),
			false, false, true, allThree[:1]},
		{"the three rules doctor prints",
			newFake().chain(inet, "filter", "forward", true, pDrop, rule(iifBridge, accept), rule(oifBridge, estRel, accept), rule(oifBridge, dnatStatus, accept)),
			false, false, false, nil},
		{"accept after a drop of the bridge",
			newFake().chain(inet, "filter", "forward", true, pAcc, rule(iifBridge, drop), rule(iifBridge, accept)),
			true, false, false, allThree[2:]},
		{"policy accept ending in a reject (firewalld's way)",
			newFake().chain(inet, "filter", "forward", true, pAcc, rule(estRel, accept), rule([]expr.Any{&expr.Reject{}})),
			true, false, true, []string{allThree[0], allThree[2]}},
		{"a wildcard interface and the subnet",
			newFake().chain(inet, "filter", "forward", true, pDrop,
				rule([]expr.Any{&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("edge")}}, accept),
				rule(matchSaddr(netip.MustParsePrefix("10.90.0.0/16")), drop), // after the accept: no effect
				rule(estRel, accept), rule(oifBridge, dnatStatus, accept)),
			false, false, false, nil},
		{"the subnet dropped first",
			newFake().chain(inet, "filter", "forward", true, pAcc, rule(matchSaddr(netip.MustParsePrefix("10.90.0.0/24")), drop)),
			true, false, false, allThree[2:]},
		{"interface indexes",
			newFake().chain(inet, "filter", "forward", true, pDrop,
				rule([]expr.Any{&expr.Meta{Key: expr.MetaKeyIIF, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(7)}}, accept),
				rule([]expr.Any{&expr.Meta{Key: expr.MetaKeyOIF, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(8)}}, accept)),
			false, true, true, allThree[:2]},
		{"a condition that cannot be told (only tcp) does not accept",
			newFake().chain(inet, "filter", "forward", true, pDrop, rule(estRel, accept), rule(oifBridge, dnatStatus, accept),
				rule(iifBridge, []expr.Any{&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}}}, accept)),
			true, false, false, allThree[2:]},
		{"jumps, gotos and returns",
			newFake().chain(inet, "filter", "forward", true, pDrop,
				rule(verdict(expr.VerdictJump, "established")),
				rule(iifBridge, verdict(expr.VerdictGoto, "from_bridge")),
				rule(accept)). // never reached by the bridge's packets out
				chain(inet, "filter", "established", false, 0, rule(estRel, accept), rule(ret), rule(accept)).
				chain(inet, "filter", "from_bridge", false, 0, rule(oifBridge, accept)), // falls through: policy
			true, false, false, allThree[2:]},
		{"other families and edgerun's own tables are not judged",
			newFake().chain(ip6, "filter", "forward", true, pDrop).chain(ip4, "edgerun_edgerun0", "forward", true, pDrop).
				chain(inet, "filter", "input", false, pDrop),
			false, false, false, nil},
		{"firewalld", newFake().chain(inet, "firewalld", "filter_FORWARD", true, pAcc, rule(estRel, accept), rule([]expr.Any{&expr.Reject{}})),
			true, false, true, []string{"firewall-cmd --permanent --zone=trusted --add-interface=edgerun0", "firewall-cmd --reload"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			blocks := tc.f.blocks(t)
			if !tc.out && !tc.replies && !tc.inbound {
				if len(blocks) != 0 {
					t.Fatalf("blocks %+v, want none", blocks)
				}
				return
			}
			if len(blocks) != 1 {
				t.Fatalf("blocks %+v, want one", blocks)
			}
			b := blocks[0]
			if b.Out != tc.out || b.Replies != tc.replies || b.Inbound != tc.inbound {
				t.Errorf("out %v replies %v inbound %v, want %v %v %v", b.Out, b.Replies, b.Inbound, tc.out, tc.replies, tc.inbound)
			}
			if !slices.Equal(b.Commands, tc.commands) {
				t.Errorf("commands\n%s\nwant\n%s", strings.Join(b.Commands, "\n"), strings.Join(tc.commands, "\n"))
			}
		})
	}
}

// docker's FORWARD (iptables-nft, docker 24-27) with edgerun0 beside docker0.
func dockerForward(user ...[]expr.Any) *fakeRuleset {
	return newFake().chain(ip4, "filter", "FORWARD", true, pDrop,
		rule(verdict(expr.VerdictJump, "DOCKER-USER")),
		rule(verdict(expr.VerdictJump, "DOCKER-ISOLATION-STAGE-1")),
		rule(iptIf(expr.MetaKeyOIFNAME, "docker0", false), xtState(ctRelated|ctEstablished, false), accept),
		rule(iptIf(expr.MetaKeyOIFNAME, "docker0", false), verdict(expr.VerdictJump, "DOCKER")),
		rule(iptIf(expr.MetaKeyIIFNAME, "docker0", false), iptIf(expr.MetaKeyOIFNAME, "docker0", true), accept),
		rule(iptIf(expr.MetaKeyIIFNAME, "docker0", false), iptIf(expr.MetaKeyOIFNAME, "docker0", false), accept)).
		chain(ip4, "filter", "DOCKER-USER", false, 0, append(user, ret)...).
		chain(ip4, "filter", "DOCKER-ISOLATION-STAGE-1", false, 0,
			rule(iptIf(expr.MetaKeyIIFNAME, "docker0", false), iptIf(expr.MetaKeyOIFNAME, "docker0", true), verdict(expr.VerdictJump, "DOCKER-ISOLATION-STAGE-2")),
			rule(ret)).
		chain(ip4, "filter", "DOCKER-ISOLATION-STAGE-2", false, 0, rule(iptIf(expr.MetaKeyOIFNAME, "docker0", false), drop), rule(ret)).
		chain(ip4, "filter", "DOCKER", false, 0)
}

func TestForwardBlocksOfDockersIptables(t *testing.T) {
	blocks := dockerForward().blocks(t)
	if len(blocks) != 1 || !blocks[0].Out || !blocks[0].Replies || !blocks[0].Inbound {
		t.Fatalf("blocks %+v, want FORWARD dropping all three", blocks)
	}
	want := []string{
		"iptables -I DOCKER-USER -o edgerun0 -m conntrack --ctstate DNAT -j ACCEPT",
		"iptables -I DOCKER-USER -o edgerun0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
		"iptables -I DOCKER-USER -i edgerun0 -j ACCEPT",
	}
	if !slices.Equal(blocks[0].Commands, want) {
		t.Errorf("commands\n%s\nwant\n%s", strings.Join(blocks[0].Commands, "\n"), strings.Join(want, "\n"))
	}
	if got := blocks[0].Problem(); got != "table ip filter, chain FORWARD (policy drop) drops what bridge edgerun0 forwards: "+
		"containers' connections to other networks, the replies to them, connections from other hosts to published ports" {
		t.Errorf("problem: %s", got)
	}
	// The rules of those commands, as iptables-nft makes them.
	fixed := dockerForward(
		rule(iptIf(expr.MetaKeyIIFNAME, "edgerun0", false), accept),
		rule(iptIf(expr.MetaKeyOIFNAME, "edgerun0", false), xtState(ctRelated|ctEstablished, false), accept),
		rule(iptIf(expr.MetaKeyOIFNAME, "edgerun0", false), xtState(xtStateDNAT, false), accept),
	)
	if blocks := fixed.blocks(t); len(blocks) != 0 {
		t.Errorf("after the fix: %+v", blocks)
	}
	// A plain iptables-nft firewall without docker: its rules go in
	// FORWARD. -i eth0 with any state but INVALID lets replies and
	// connections to published ports in; only the way out is dropped.
	plain := newFake().chain(ip4, "filter", "FORWARD", true, pDrop, rule(xtState(ctInvalid, true), iptIf(expr.MetaKeyIIFNAME, "eth0", false), accept))
	blocks = plain.blocks(t)
	if len(blocks) != 1 || !blocks[0].Out || blocks[0].Replies || blocks[0].Inbound ||
		!slices.Equal(blocks[0].Commands, []string{"iptables -I FORWARD -i edgerun0 -j ACCEPT"}) {
		t.Errorf("plain iptables: %+v", blocks)
	}
}
