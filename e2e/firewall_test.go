package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// firewallCheck is a firewall check of doctor --format json.
type firewallCheck struct {
	Name, Status, Detail string
	Commands             []string
}

// firewallChecks are the firewall checks of doctor --format json.
func (n *netEnv) firewallChecks(t *testing.T) []firewallCheck {
	t.Helper()
	r := n.run("doctor", "--format", "json")
	var rep struct{ Checks []firewallCheck }
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("doctor --format json: %v\n%s", err, r)
	}
	var out []firewallCheck
	for _, c := range rep.Checks {
		if c.Name == "firewall" {
			out = append(out, c)
		}
	}
	return out
}

// fromInternet reports whether a connection from the internet to addr
// says want.
func (h *fakeHost) fromInternet(addr, want string, tries int) bool {
	for range tries {
		var c net.Conn
		if err := in(h.inet, func() (err error) { c, err = net.DialTimeout("tcp4", addr, 2*time.Second); return err }); err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			b, _ := io.ReadAll(c)
			c.Close()
			if strings.TrimSpace(string(b)) == want {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// fromHost waits until a connection from the host namespace to addr says
// want (the output path, which no forward chain sees).
func (h *fakeHost) fromHost(t *testing.T, addr, want string) {
	t.Helper()
	for range 100 {
		var c net.Conn
		if err := h.host(func() (err error) { c, err = net.DialTimeout("tcp4", addr, time.Second); return err }); err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			b, _ := io.ReadAll(c)
			c.Close()
			if strings.TrimSpace(string(b)) == want {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s does not answer %q from the host", addr, want)
}

// wgetFromContainer is a run that fetches url from a container, giving up
// after 5 seconds. busybox's wget -T crashes (Debian's 1.35), so the
// timeout is timeout's, and wget is not the container's PID 1 (which
// would ignore timeout's SIGTERM).
func wgetFromContainer(url string) []string {
	return []string{"run", "--rm", "--network", "bridge", "busybox", "sh", "-c", "timeout 5 wget -q -O - " + url + " || exit 1"}
}

func internetSays(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) })
}

// The rules of the commands doctor prints for an nft table, built here
// with the library (this host has no nft binary; the strings are checked).
func ifnameRule(key expr.MetaKey, bridge string) []expr.Any {
	name := make([]byte, unix.IFNAMSIZ)
	copy(name, bridge)
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: name}}
}

func ctRule(key expr.CtKey, bits uint32) []expr.Any {
	return []expr.Any{&expr.Ct{Key: key, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: binaryutil.NativeEndian.PutUint32(bits), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)}}
}

func TestFirewallDropPolicyOfTheHostIsReportedAndItsFixLetsContainersOut(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, 1500, 1500)
	url := h.serve(t, internetSays("internet\n"))
	n := newNetEnv(t)
	n.netns = h
	n.loadBusybox()
	// The host's firewall: inet filter, forward, policy drop.
	filter := &nftables.Table{Family: nftables.TableFamilyINet, Name: "filter"}
	drop := nftables.ChainPolicyDrop
	fwd := &nftables.Chain{Name: "forward", Table: filter, Type: nftables.ChainTypeFilter, Hooknum: nftables.ChainHookForward,
		Priority: nftables.ChainPriorityFilter, Policy: &drop}
	h.nft(t, func(c *nftables.Conn) { c.AddTable(filter); c.AddChain(fwd) })

	wget := wgetFromContainer(url)
	r := n.run(wget...)
	if r.code == 0 {
		t.Fatalf("a container reached the internet through a forward chain of policy drop: %s", r)
	}
	at := "nft insert rule inet filter forward "
	want := []string{
		at + fmt.Sprintf(`oifname %q ct status dnat accept`, n.bridge),
		at + fmt.Sprintf(`oifname %q ct state established,related accept`, n.bridge),
		at + fmt.Sprintf(`iifname %q accept`, n.bridge),
	}
	note := fmt.Sprintf("edgerun: note: table inet filter, chain forward (policy drop) drops what bridge %s forwards", n.bridge)
	if !strings.Contains(r.stderr, note) || !strings.Contains(r.stderr, strings.Join(want, "; ")) {
		t.Errorf("the run that made the bridge did not say what drops its traffic and how to allow it:\n%s", r.stderr)
	}
	// Once: the bridge is there now.
	if r := n.run("run", "--rm", "--network", "bridge", "busybox", "true"); r.code != 0 || strings.Contains(r.stderr, "note: table") {
		t.Errorf("the second run: %s", r)
	}
	// A published port answers the host itself, not the internet.
	if r := n.run("run", "-d", "--network", "bridge", "--name", "web", "-p", "8080:80", "busybox", "nc", "-ll", "-p", "80", "-e", "echo", "published"); r.code != 0 {
		t.Fatalf("run -d -p 8080:80: %s", r)
	}
	published := net.JoinHostPort(h.uplink.String(), "8080")
	h.fromHost(t, published, "published")
	if h.fromInternet(published, "published", 1) {
		t.Errorf("the internet reached a published port through a forward chain of policy drop")
	}
	checks := n.firewallChecks(t)
	if len(checks) != 1 || checks[0].Status != "warn" || !slices.Equal(checks[0].Commands, want) ||
		!strings.Contains(checks[0].Detail, "table inet filter, chain forward (policy drop)") {
		t.Fatalf("doctor's firewall check: %+v\nwant the commands\n%s", checks, strings.Join(want, "\n"))
	}

	// What the commands make.
	h.nft(t, func(c *nftables.Conn) {
		for _, e := range [][]expr.Any{
			append(ifnameRule(expr.MetaKeyOIFNAME, n.bridge), append(ctRule(expr.CtKeySTATUS, 1<<5), &expr.Verdict{Kind: expr.VerdictAccept})...),
			append(ifnameRule(expr.MetaKeyOIFNAME, n.bridge), append(ctRule(expr.CtKeySTATE, 2|4), &expr.Verdict{Kind: expr.VerdictAccept})...),
			append(ifnameRule(expr.MetaKeyIIFNAME, n.bridge), &expr.Verdict{Kind: expr.VerdictAccept}),
		} {
			c.InsertRule(&nftables.Rule{Table: filter, Chain: fwd, Exprs: e})
		}
	})
	if checks := n.firewallChecks(t); len(checks) != 1 || checks[0].Status != "ok" {
		t.Errorf("doctor after the fix: %+v", checks)
	}
	if r := n.run(wget...); r.code != 0 || r.stdout != "internet\n" {
		t.Errorf("wget from a container after the fix: %s", r)
	}
	if !h.fromInternet(published, "published", 20) {
		t.Errorf("the internet does not reach the published port after the fix")
	}
	// Nothing left in the fake host either (check reads its veths and rules).
	n.must("rm", "-f", "web")
	n.assertCheckClean()
}

// TestFirewallDockersForwardDropIsFixedWithThePrintedIptablesCommands
// runs this host's iptables-nft in the fake host to make docker's
// FORWARD chain (policy drop, DOCKER-USER first), then the very commands
// doctor prints.
func TestFirewallDockersForwardDropIsFixedWithThePrintedIptablesCommands(t *testing.T) {
	t.Parallel()
	ipt, err := exec.LookPath("iptables")
	if err != nil {
		t.Skip("no iptables on this host")
	}
	if v, _ := exec.Command(ipt, "-V").Output(); !strings.Contains(string(v), "nf_tables") {
		t.Skipf("iptables is not iptables-nft: %s", v)
	}
	h := newFakeHost(t, 1500, 1500)
	url := h.serve(t, internetSays("internet\n"))
	n := newNetEnv(t)
	n.netns = h
	n.loadBusybox()
	iptables := func(args ...string) {
		t.Helper()
		cmd := exec.Command(ipt, args...)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := h.host(cmd.Run); err != nil {
			t.Fatalf("iptables %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
	}
	for _, args := range [][]string{
		{"-N", "DOCKER-USER"}, {"-A", "DOCKER-USER", "-j", "RETURN"}, {"-A", "FORWARD", "-j", "DOCKER-USER"},
		{"-A", "FORWARD", "-o", "docker0", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"},
		{"-A", "FORWARD", "-i", "docker0", "!", "-o", "docker0", "-j", "ACCEPT"},
		{"-P", "FORWARD", "DROP"},
	} {
		iptables(args...)
	}
	wget := wgetFromContainer(url)
	if r := n.run(wget...); r.code == 0 || !strings.Contains(r.stderr, "table ip filter, chain FORWARD (policy drop)") {
		t.Fatalf("a container behind docker's FORWARD DROP: %s", r)
	}
	checks := n.firewallChecks(t)
	want := []string{
		fmt.Sprintf("iptables -I DOCKER-USER -o %s -m conntrack --ctstate DNAT -j ACCEPT", n.bridge),
		fmt.Sprintf("iptables -I DOCKER-USER -o %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", n.bridge),
		fmt.Sprintf("iptables -I DOCKER-USER -i %s -j ACCEPT", n.bridge),
	}
	if len(checks) != 1 || !slices.Equal(checks[0].Commands, want) {
		t.Fatalf("doctor's firewall check: %+v\nwant the commands\n%s", checks, strings.Join(want, "\n"))
	}
	for _, c := range checks[0].Commands {
		iptables(strings.Fields(c)[1:]...)
	}
	if checks := n.firewallChecks(t); len(checks) != 1 || checks[0].Status != "ok" {
		t.Errorf("doctor after the printed commands: %+v", checks)
	}
	if r := n.run(wget...); r.code != 0 || r.stdout != "internet\n" {
		t.Errorf("wget from a container after the printed commands: %s", r)
	}
	n.assertCheckClean()
}
