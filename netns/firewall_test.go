package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"

	"github.com/edgerun/edgerun/internal/testenv"
)

// privateHost makes a network namespace standing for a host whose
// firewall the test writes, and a Network whose bridge would live there.
func privateHost(t *testing.T) (*Network, string) {
	t.Helper()
	testenv.RequireRoot(t, "create a network namespace and nftables tables in it")
	dir := t.TempDir()
	path := filepath.Join(dir, "host")
	if err := createNS(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := removeNS(path); err != nil {
			t.Error(err)
		}
	})
	n, err := Open(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"), NS: path})
	if err != nil {
		t.Fatal(err)
	}
	return n, path
}

// nftIn applies f's changes to the ruleset of the namespace at path.
func nftIn(t *testing.T, path string, f func(c *nftables.Conn)) {
	t.Helper()
	ns, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	f(c)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestForwardBlocksReadsTheKernelsRulesetAndItsOwnFixes(t *testing.T) {
	n, path := privateHost(t)
	if b, err := n.ForwardBlocks(); err != nil || len(b) != 0 {
		t.Fatalf("a namespace without a firewall: %+v, %v", b, err)
	}
	tbl := &nftables.Table{Family: nftables.TableFamilyINet, Name: "filter"}
	fwd := &nftables.Chain{Name: "forward", Table: tbl, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter}
	nftIn(t, path, func(c *nftables.Conn) {
		c.AddTable(tbl)
		p := nftables.ChainPolicyDrop
		fwd.Policy = &p
		c.AddChain(fwd)
		c.AddRule(&nftables.Rule{Table: tbl, Chain: fwd, Exprs: rule(estRel, accept)})
	})
	b, err := n.ForwardBlocks()
	if err != nil || len(b) != 1 || !b[0].Out || b[0].Replies || !b[0].Inbound {
		t.Fatalf("inet filter forward, policy drop, established accepted: %+v, %v", b, err)
	}
	// What the printed commands make: nft insert rule inet filter forward ...
	nftIn(t, path, func(c *nftables.Conn) {
		c.InsertRule(&nftables.Rule{Table: tbl, Chain: fwd, Exprs: rule(oifBridge, dnatStatus, accept)})
		c.InsertRule(&nftables.Rule{Table: tbl, Chain: fwd, Exprs: rule(iifBridge, accept)})
	})
	if b, err := n.ForwardBlocks(); err != nil || len(b) != 0 {
		t.Fatalf("after the fix: %+v, %v", b, err)
	}
}

// TestForwardBlocksUnderstandsIptablesNft runs the iptables of this host
// (when it is iptables-nft) to make docker's chains and then the commands
// ForwardBlocks prints, in a namespace of the test's.
func TestForwardBlocksUnderstandsIptablesNft(t *testing.T) {
	n, path := privateHost(t)
	ipt, err := exec.LookPath("iptables")
	if err != nil {
		t.Skip("no iptables on this host")
	}
	if v, _ := exec.Command(ipt, "-V").Output(); !strings.Contains(string(v), "nf_tables") {
		t.Skipf("iptables is not iptables-nft: %s", v)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("nsenter", append([]string{"--net=" + path, ipt}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("iptables %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("-N", "DOCKER-USER")
	run("-A", "DOCKER-USER", "-j", "RETURN")
	run("-A", "FORWARD", "-j", "DOCKER-USER")
	run("-A", "FORWARD", "-o", "docker0", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")
	run("-A", "FORWARD", "-i", "docker0", "!", "-o", "docker0", "-j", "ACCEPT")
	run("-P", "FORWARD", "DROP")
	b, err := n.ForwardBlocks()
	if err != nil || len(b) != 1 || !b[0].Out || !b[0].Replies || !b[0].Inbound || b[0].Table != "filter" || b[0].Chain != "FORWARD" {
		t.Fatalf("docker's FORWARD: %+v, %v", b, err)
	}
	for _, c := range b[0].Commands {
		f := strings.Fields(c)
		if f[0] != "iptables" || f[2] != "DOCKER-USER" {
			t.Fatalf("command %q, want iptables -I DOCKER-USER ...", c)
		}
		run(f[1:]...)
	}
	if b, err := n.ForwardBlocks(); err != nil || len(b) != 0 {
		t.Fatalf("after the printed commands: %+v, %v", b, err)
	}
}

// uplinkTo gives the namespace at host an uplink to a new namespace
// standing for the internet (198.51.100.0/30, TEST-NET-2), with the
// default route through it; it returns the internet's path and address.
func uplinkTo(t *testing.T, host string) (string, netip.Addr) {
	t.Helper()
	inet := filepath.Join(filepath.Dir(host), "internet")
	if err := createNS(inet); err != nil {
		fatalUnlessUnsupported(t, err)
	}
	t.Cleanup(func() { _ = removeNS(inet) })
	hns, err := vnetns.GetFromPath(host)
	if err != nil {
		fatalUnlessUnsupported(t, err)
	}
	defer hns.Close()
	ins, err := vnetns.GetFromPath(inet)
	if err != nil {
		fatalUnlessUnsupported(t, err)
	}
	defer ins.Close()
	h, err := netlink.NewHandleAt(hns)
	if err != nil {
		fatalUnlessUnsupported(t, err)
	}
	defer h.Close()
	i, err := netlink.NewHandleAt(ins)
	if err != nil {
		fatalUnlessUnsupported(t, err)
	}
	defer i.Close()
	hostSide, server := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "uplink0"}, PeerName: "wan0", PeerNamespace: netlink.NsFd(int(ins))}
	must := func(err error) {
		t.Helper()
		if err != nil {
			fatalUnlessUnsupported(t, err)
		}
	}
	must(h.LinkAdd(v))
	up, err := h.LinkByName("uplink0")
	must(err)
	must(h.AddrAdd(up, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(hostSide, 30))}))
	must(h.LinkSetUp(up))
	must(h.RouteAdd(&netlink.Route{LinkIndex: up.Attrs().Index, Gw: server.AsSlice()}))
	wan, err := i.LinkByName("wan0")
	must(err)
	must(i.AddrAdd(wan, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(server, 30))}))
	must(i.LinkSetUp(wan))
	for _, hh := range []*netlink.Handle{h, i} {
		lo, err := hh.LinkByName("lo")
		must(err)
		must(hh.LinkSetUp(lo))
	}
	return inet, server
}

// reaches reports whether a connection from the namespace at from to
// addr is answered within tries of two seconds.
func reaches(t *testing.T, from, addr string, tries int) bool {
	t.Helper()
	for range tries {
		var c net.Conn
		err := inNS(t, from, func() (err error) { c, err = net.DialTimeout("tcp4", addr, 2*time.Second); return err })
		if err == nil {
			c.Close()
			return true
		}
	}
	return false
}

// TestAnAcceptOfAnotherTableDoesNotUndoAForwardDrop is the netfilter fact
// edgerun's design rests on (docs/architecture.md, "Networking"): base
// chains of every table registered on the forward hook see the packet in
// priority order; an accept ends only its own chain, a drop is final. So
// a forward chain of edgerun's, before or after the host's, could not
// let its containers through a host whose forward policy is drop; only
// a rule in the host's own chain can.
func TestAnAcceptOfAnotherTableDoesNotUndoAForwardDrop(t *testing.T) {
	n, host := privateHost(t)
	inet, server := uplinkTo(t, host)
	serveTCP(t, inet, net.JoinHostPort(server.String(), "9000"), "internet")
	id := newID(t)
	a, err := n.Setup(context.Background(), SetupOptions{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Teardown(id, a.Bridge) })
	dest := net.JoinHostPort(server.String(), "9000")
	if !reaches(t, a.NetNS, dest, 3) {
		t.Fatal("the container does not reach the internet without a firewall")
	}
	// The host's firewall: inet filter, forward at priority 0, policy drop.
	filter := &nftables.Table{Family: nftables.TableFamilyINet, Name: "filter"}
	drop := nftables.ChainPolicyDrop
	fwd := &nftables.Chain{Name: "forward", Table: filter, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward,
		Priority: nftables.ChainPriorityFilter, Policy: &drop}
	nftIn(t, host, func(c *nftables.Conn) { c.AddTable(filter); c.AddChain(fwd) })
	if reaches(t, a.NetNS, dest, 1) {
		t.Fatal("the container reaches the internet through a forward chain of policy drop")
	}
	// Accepts of everything in tables of edgerun's kind, before and after.
	var ours []*nftables.Chain
	for _, prio := range []int32{-300, 300} {
		pr := nftables.ChainPriority(prio)
		tb := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: fmt.Sprintf("edgerun_test%d", prio+1000)}
		ch := &nftables.Chain{Name: "forward", Table: tb, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward, Priority: &pr}
		ours = append(ours, ch)
		nftIn(t, host, func(c *nftables.Conn) {
			c.AddTable(tb)
			c.AddChain(ch)
			c.AddRule(&nftables.Rule{Table: tb, Chain: ch, Exprs: []expr.Any{&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictAccept}}})
		})
	}
	if reaches(t, a.NetNS, dest, 1) {
		t.Fatal("an accept in another table undid the forward drop")
	}
	// The chain before the drop saw the packets and accepted them; the one
	// after it never saw them.
	counts := map[int32]uint64{}
	nftIn(t, host, func(c *nftables.Conn) {
		for _, ch := range ours {
			rules, err := c.GetRules(ch.Table, ch)
			if err != nil || len(rules) != 1 {
				t.Fatalf("read back %s: %v", ch.Table.Name, err)
			}
			counts[int32(*ch.Priority)] = rules[0].Exprs[0].(*expr.Counter).Packets
		}
	})
	if counts[-300] == 0 || counts[300] != 0 {
		t.Errorf("accepted packets: %d at priority -300 (want some), %d at 300 (want none)", counts[-300], counts[300])
	}
	// What ForwardBlocks prints, in the host's own chain, does.
	blocks, err := n.ForwardBlocks()
	if err != nil || len(blocks) != 1 {
		t.Fatalf("ForwardBlocks: %+v, %v", blocks, err)
	}
	nftIn(t, host, func(c *nftables.Conn) {
		c.InsertRule(&nftables.Rule{Table: filter, Chain: fwd, Exprs: rule(nftIf(expr.MetaKeyOIFNAME, n.bridge), estRel, accept)})
		c.InsertRule(&nftables.Rule{Table: filter, Chain: fwd, Exprs: rule(nftIf(expr.MetaKeyIIFNAME, n.bridge), accept)})
	})
	if !reaches(t, a.NetNS, dest, 3) {
		t.Fatal("the container does not reach the internet after the host's chain accepts its bridge")
	}
}

func TestSetupNotesAForwardDropOnceWhenItMakesTheBridge(t *testing.T) {
	n, host := privateHost(t)
	tbl := &nftables.Table{Family: nftables.TableFamilyINet, Name: "filter"}
	drop := nftables.ChainPolicyDrop
	nftIn(t, host, func(c *nftables.Conn) {
		c.AddTable(tbl)
		c.AddChain(&nftables.Chain{Name: "forward", Table: tbl, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward,
			Priority: nftables.ChainPriorityFilter, Policy: &drop})
	})
	var notes []string
	for range 2 {
		id := newID(t)
		a, err := n.Setup(context.Background(), SetupOptions{ID: id, Notice: func(s string) { notes = append(notes, s) }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Teardown(id, a.Bridge) })
	}
	want := `table inet filter, chain forward (policy drop) drops what bridge edgerun0 forwards: containers' connections to other networks, ` +
		`the replies to them, connections from other hosts to published ports; to allow it, run: ` +
		`nft insert rule inet filter forward oifname "edgerun0" ct status dnat accept; ` +
		`nft insert rule inet filter forward oifname "edgerun0" ct state established,related accept; ` +
		`nft insert rule inet filter forward iifname "edgerun0" accept (edgerun doctor checks this again)`
	if len(notes) != 1 || notes[0] != want {
		t.Errorf("notes of two setups:\n%s\nwant one:\n%s", strings.Join(notes, "\n"), want)
	}
}

// fatalUnlessUnsupported fails the test on err, or skips it when this
// kernel lacks what the fake uplink needs (the VM matrix's Debian 6.1
// kernels answered EPROTONOSUPPORT here): the host's tier runs it.
func fatalUnlessUnsupported(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, syscall.EPROTONOSUPPORT) {
		t.Skipf("this kernel cannot make the test's uplink: %v", err)
	}
	t.Fatal(err)
}
