package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

// The IPv6 addresses of the fake host's uplink and of the internet
// behind it: the documentation prefix, in namespaces the test makes.
var (
	uplink6 = netip.MustParseAddr("2001:db8:6::1")
	server6 = netip.MustParseAddr("2001:db8:6::2")
)

// addIPv6 gives the fake host's uplink and the internet IPv6 addresses
// (without DAD, usable at once) and the host an IPv6 default route.
func (h *fakeHost) addIPv6(t *testing.T) {
	t.Helper()
	for _, side := range []struct {
		ns   vnetns.NsHandle
		link string
		addr netip.Addr
	}{{h.ns, "uplink0", uplink6}, {h.inet, "wan0", server6}} {
		nh, err := netlink.NewHandleAt(side.ns)
		if err != nil {
			t.Fatal(err)
		}
		l, err := nh.LinkByName(side.link)
		if err == nil {
			err = nh.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: side.addr.AsSlice(), Mask: net.CIDRMask(64, 128)}, Flags: unix.IFA_F_NODAD})
		}
		if err == nil && side.link == "uplink0" {
			err = nh.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: server6.AsSlice()})
		}
		nh.Close()
		if err != nil {
			t.Fatalf("give %s an IPv6 address: %v", side.link, err)
		}
	}
}

// serve6 serves handler over HTTP on the internet's IPv6 address.
func (h *fakeHost) serve6(t *testing.T, handler http.Handler) string {
	t.Helper()
	var l net.Listener
	if err := in(h.inet, func() (err error) { l, err = net.Listen("tcp6", net.JoinHostPort(server6.String(), "0")); return err }); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// dial connects from the internet to addr and returns what it answers.
func (h *fakeHost) dial(addr string) (string, error) {
	var out string
	err := in(h.inet, func() error {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 64)
		k, _ := c.Read(b)
		out = strings.TrimSpace(string(b[:k]))
		return nil
	})
	return out, err
}

// ip6Tables lists the fake host's ip6 tables by name.
func (h *fakeHost) ip6Tables(t *testing.T) map[string]bool {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(h.ns)))
	if err != nil {
		t.Fatal(err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv6)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, tb := range tables {
		out[tb.Name] = true
	}
	return out
}

// TestIPv6NetworkOutboundPublishedPortsAndNames: a dual-stack network's
// containers reach an IPv6 internet through NAT66 at once (no DAD wait),
// answer on the host's IPv6 address through a published port, reach each
// other over IPv6 by name, and --ip6 gives the address asked for.
func TestIPv6NetworkOutboundPublishedPortsAndNames(t *testing.T) {
	t.Parallel()
	h := newFakeHost(t, 1500, 1500)
	h.addIPv6(t)
	seen := make(chan string, 4)
	url := h.serve6(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprintln(w, "hello from the internet")
		seen <- host
	}))
	n := newNetEnv(t)
	n.netns = h
	n.loadBusybox()
	const sub6 = "fd00:e2e:6::/64"
	bridge := n.userNetwork(t, "dual", "--ipv6", "--subnet", sub6)
	if !h.ip6Tables(t)["edgerun_"+bridge] {
		t.Fatalf("no ip6 table edgerun_%s after network create --ipv6", bridge)
	}
	doc := n.must("network", "inspect", "dual")
	if !strings.Contains(doc, `"EnableIPv6": true`) || !strings.Contains(doc, `"Subnet": "fd00:e2e:6::/64"`) || !strings.Contains(doc, `"Gateway": "fd00:e2e:6::1"`) {
		t.Errorf("network inspect of a dual-stack network:\n%s", doc)
	}

	// Outbound at once: the first thing the container does.
	r := n.run("run", "--rm", "--network", "dual", "busybox", "sh", "-c",
		"timeout 10 wget -q -O - "+url+"; ip -6 addr show dev eth0 scope global")
	if r.code != 0 || !strings.Contains(r.stdout, "hello from the internet") {
		t.Fatalf("IPv6 outbound from a new container: %s", r)
	}
	if strings.Contains(r.stdout, "tentative") || !strings.Contains(r.stdout, "inet6 fd00:e2e:6::") {
		t.Errorf("the container's IPv6 address (no DAD, from the subnet): %s", r.stdout)
	}
	select {
	case src := <-seen:
		if src != uplink6.String() {
			t.Errorf("the internet saw the container's connection from %s, want the host's uplink %s (NAT66)", src, uplink6)
		}
	case <-time.After(5 * time.Second):
		t.Error("the internet saw no connection")
	}

	// Published ports: on every address of the host, and on one IPv6 one.
	serve := "echo ready; while true; do nc -l -p 80 -e echo pong; done"
	web := n.start("run", "--rm", "--name", "web", "--network", "dual", "--ip6", "fd00:e2e:6::99",
		"-p", "8080:80", "-p", "["+uplink6.String()+"]:8081:80", "busybox", "sh", "-c", serve)
	web.waitLine(t, "ready")
	for _, addr := range []string{"[" + uplink6.String() + "]:8080", "198.51.100.1:8080", "[" + uplink6.String() + "]:8081"} {
		var got string
		var err error
		for range 20 { // nc listens again a moment after each answer
			if got, err = h.dial(addr); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil || got != "pong" {
			t.Errorf("the internet asking %s: %q, %v; want pong", addr, got, err)
		}
	}
	if _, err := h.dial("198.51.100.1:8081"); err == nil {
		t.Error("-p [IPv6]:8081:80 answers on the host's IPv4 address too")
	}
	var ins []struct {
		NetworkSettings struct {
			Networks map[string]struct{ GlobalIPv6Address, IPv6Gateway string }
		}
	}
	if err := json.Unmarshal([]byte(n.must("inspect", "web")), &ins); err != nil || len(ins) != 1 {
		t.Fatalf("inspect web: %v", err)
	}
	if ep := ins[0].NetworkSettings.Networks["dual"]; ep.GlobalIPv6Address != "fd00:e2e:6::99" || ep.IPv6Gateway != "fd00:e2e:6::1" {
		t.Errorf("inspect web: the IPv6 endpoint %+v, want --ip6's fd00:e2e:6::99 via fd00:e2e:6::1", ep)
	}

	// Names: both addresses in the peers' hosts file; over IPv6 by name.
	n.must("run", "-d", "--name", "app", "--network", "dual", "busybox", "sleep", "1000")
	if hosts := n.hostsOf("app"); !strings.Contains(hosts, "fd00:e2e:6::99\tweb ") {
		t.Errorf("app's hosts file lacks web's IPv6 address:\n%s", hosts)
	}
	if r := n.run("exec", "app", "sh", "-c", "ping -6 -c 1 -W 3 web"); r.code != 0 || !strings.Contains(r.stdout, "fd00:e2e:6::99") {
		t.Errorf("app pinging web by name over IPv6: %s", r)
	}
	// network connect --ip6: a container of an IPv4 network joins this one.
	n.userNetwork(t, "v4only")
	n.must("run", "-d", "--name", "late", "--network", "v4only", "busybox", "sleep", "1000")
	n.must("network", "connect", "--ip6", "fd00:e2e:6::77", "dual", "late")
	if r := n.run("exec", "late", "sh", "-c", "ip -6 addr show dev eth1 scope global; ping -6 -c 1 -W 3 app"); r.code != 0 ||
		!strings.Contains(r.stdout, "inet6 fd00:e2e:6::77/64") {
		t.Errorf("late after network connect --ip6 fd00:e2e:6::77 dual: %s", r)
	}
	n.must("rm", "-f", "app", "late")
	n.assertCheckClean()
}

// TestIPv6Refusals: what cannot be asked of IPv6 is refused with the
// reason, and nothing is made.
func TestIPv6Refusals(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.loadBusybox()
	if testenv.Rootless() {
		// Rootless networks leave through slirp4netns, started without IPv6.
		r := n.run("network", "create", "--ipv6", "six")
		if r.code != 1 || !strings.Contains(r.stderr, "--ipv6: rootless networks are IPv4 only") {
			t.Errorf("network create --ipv6, rootless: %s, want the refusal", r)
		}
		return
	}
	n.userNetwork(t, "six", "--ipv6", "--subnet", "fd00:e2e:7::/64")
	n.userNetwork(t, "four")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"network", "create", "--ipv6", "--subnet", "fd00:e2e:8::/124", "tiny"}, "IPv6 subnet fd00:e2e:8::/124 is too small: use a prefix of /120 or shorter"},
		{[]string{"network", "create", "--subnet", "fd00:e2e:8::/64", "noflag"}, "an IPv6 --subnet or --gateway needs --ipv6"},
		{[]string{"run", "--rm", "--network", "six", "--ip6", "fd00:e2e:9::5", "busybox", "true"}, "--ip6 fd00:e2e:9::5 is not a host address of the IPv6 subnet fd00:e2e:7::/64 of network six"},
		{[]string{"run", "--rm", "--network", "four", "--ip6", "fd00:e2e:7::5", "busybox", "true"}, "--ip6 fd00:e2e:7::5: network four has no IPv6: create it with --ipv6"},
		{[]string{"run", "--rm", "--network", "six", "-p", "[::1]:8090:80", "busybox", "true"}, "[::1] cannot be published: Linux does not route IPv6 loopback traffic to a container"},
		{[]string{"run", "--rm", "--network", "four", "-p", "[2001:db8::5]:8090:80", "busybox", "true"}, "network four has no IPv6 (create it with --ipv6)"},
		{[]string{"network", "connect", "--ip6", "fd00:e2e:7::1", "six", "nosuch"}, "no such container"},
	} {
		r := n.run(c.args...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("edgerun %s: %s\nwant the refusal %q", strings.Join(c.args, " "), r, c.want)
		}
	}
	if r := n.run("network", "inspect", "tiny"); r.code == 0 {
		t.Error("a refused network exists")
	}
}
