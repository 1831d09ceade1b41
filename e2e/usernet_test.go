package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/nftables"

	"github.com/edgerun/edgerun/internal/testenv"
)

// userNetwork creates network name (with a subnet of the tests' counter
// unless args give one) and returns its bridge. At the end of the test
// every container is removed, the network too, and nothing of it may be
// left: veths, leases, netns mounts, DNAT rules, the bridge, the table,
// the definition.
func (n *netEnv) userNetwork(t *testing.T, name string, args ...string) string {
	t.Helper()
	// n.run puts the default bridge's --subnet first: the last one is the
	// new network's.
	args = append(append([]string{"network", "create", "--subnet", fmt.Sprintf("10.195.%d.0/24", nextSubnet())}, args...), name)
	if r := n.run(args...); r.code != 0 {
		t.Fatalf("network create %s: %s", name, r)
	}
	bridge := strings.TrimSpace(n.must("network", "inspect", "-f", "{{.Edgerun.Bridge}}", name))
	t.Cleanup(func() {
		if ids := strings.Fields(n.run("ps", "-aq").stdout); len(ids) > 0 {
			n.run(append([]string{"rm", "-f"}, ids...)...)
		}
		if r := n.run("network", "rm", "-f", name); r.code != 0 {
			t.Errorf("network rm %s: %s", name, r)
		}
		n.assertNoUserNetworkLeft(t, name, bridge)
	})
	return bridge
}

// assertNoUserNetworkLeft checks that nothing of network name (bridge)
// is left: what assertNoNetworkLeft checks for the default bridge, and
// the bridge, its table and its definition.
func (n *netEnv) assertNoUserNetworkLeft(t *testing.T, name, bridge string) {
	t.Helper()
	testenv.AssertNoNetwork(t, testenv.Network{Bridge: bridge, Root: n.root, State: n.state})
	if _, err := os.Stat(filepath.Join(n.root, "networks", name+".json")); err == nil {
		t.Errorf("the definition of network %s is left", name)
	}
	if testenv.Rootless() {
		return // the session's bridges are not visible here
	}
	if _, err := os.Stat("/sys/class/net/" + bridge); err == nil {
		t.Errorf("bridge %s of network %s is left", bridge, name)
	}
	if tables := nftTables(t); tables["edgerun_"+bridge] {
		t.Errorf("table edgerun_%s of network %s is left", bridge, name)
	}
}

// hostsOf is a container's /etc/hosts.
func (n *netEnv) hostsOf(name string) string { return n.must("exec", name, "cat", "/etc/hosts") }

func TestUserNetworkNamesResolveAndReachOnlyOnSharedNetworks(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.loadBusybox()
	n.userNetwork(t, "front")
	n.userNetwork(t, "back")
	serve := "echo ready; while true; do nc -l -p 7000 -e echo pong; done"
	db := n.start("run", "--rm", "--name", "db", "--network", "back", "--network-alias", "database", "busybox", "sh", "-c", serve)
	db.waitLine(t, "ready")
	// web asks for a name its hosts file lacks: its resolver is a dead
	// local address, so no query leaves the host.
	web := n.start("run", "--rm", "--name", "web", "--network", "front", "--dns", "127.0.0.1", "busybox", "sh", "-c", serve)
	web.waitLine(t, "ready")
	n.must("run", "-d", "--name", "app", "--network", "front", "--network", "back", "busybox", "sleep", "1000")
	ask := func(from, to string) result { return n.run("exec", from, "sh", "-c", "nc -w 3 "+to+" 7000 </dev/null") }
	for _, to := range []string{"db", "database", "web"} {
		if r := ask("app", to); r.code != 0 || strings.TrimSpace(r.stdout) != "pong" {
			t.Errorf("app (front and back) -> %s: %s", to, r)
		}
	}
	if addrs := n.must("exec", "app", "ip", "-4", "-o", "addr"); !strings.Contains(addrs, "eth0") || !strings.Contains(addrs, "eth1") {
		t.Errorf("app's interfaces:\n%s", addrs)
	}
	// web is on front only: it neither knows db's name nor reaches its address.
	if hosts := n.hostsOf("web"); strings.Contains(hosts, "\tdb ") || strings.Contains(hosts, " database") {
		t.Errorf("web's hosts names a container of another network:\n%s", hosts)
	}
	if r := ask("web", "db"); r.code == 0 {
		t.Errorf("web resolved db: %s", r)
	}
	dbIP := strings.TrimSpace(n.must("inspect", "-f", "{{.NetworkSettings.Networks.back.IPAddress}}", "db"))
	if r := ask("web", dbIP); r.code == 0 || strings.Contains(r.stdout, "pong") {
		t.Errorf("web (front) reached db's address %s on back: %s", dbIP, r)
	}
	// app's hosts lists each network's peers with their addresses there.
	hosts := n.hostsOf("app")
	if !strings.Contains(hosts, "(network front)") || !strings.Contains(hosts, "(network back)") ||
		!strings.Contains(hosts, dbIP+"\tdb ") || !strings.Contains(hosts, " database") {
		t.Errorf("app's hosts:\n%s", hosts)
	}
	// rename: every network's peers learn the new name.
	n.must("rename", "app", "gateway")
	for _, c := range []string{"db", "web"} {
		if h := n.hostsOf(c); !strings.Contains(h, "\tgateway ") || strings.Contains(h, "\tapp ") {
			t.Errorf("%s's hosts after rename:\n%s", c, h)
		}
	}
	n.must("rm", "-f", "db", "web", "gateway")
	db.wait(t)
	web.wait(t)
}

func TestUserNetworkCommandsAndTheirRefusals(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.loadBusybox()
	bridge := n.userNetwork(t, "lab", "-o", "com.docker.network.driver.mtu=1280", "--label", "site=north")
	var docs []struct {
		Name     string
		ID       string `json:"Id"`
		Driver   string
		Internal bool
		IPAM     struct {
			Config []struct{ Subnet, Gateway string }
		}
		Options map[string]string
		Labels  map[string]string
		Edgerun struct {
			Bridge string
			MTU    int
		}
		Containers map[string]struct{ Name, IPv4Address, MacAddress string }
	}
	n.must("run", "-d", "--name", "c1", "--network", "lab", "busybox", "sleep", "1000")
	if err := json.Unmarshal([]byte(n.must("network", "inspect", "lab")), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("network inspect: %v", err)
	}
	d := docs[0]
	if d.Name != "lab" || d.Driver != "bridge" || len(d.IPAM.Config) != 1 || d.Labels["site"] != "north" ||
		d.Options["com.docker.network.driver.mtu"] != "1280" || d.Edgerun.MTU != 1280 || d.Edgerun.Bridge != bridge || len(d.Containers) != 1 {
		t.Errorf("network inspect lab: %+v", d)
	}
	for _, c := range d.Containers {
		if c.Name != "c1" || !strings.HasPrefix(c.IPv4Address, strings.TrimSuffix(d.IPAM.Config[0].Subnet, "0/24")) || c.MacAddress == "" {
			t.Errorf("its container: %+v", c)
		}
	}
	if mtu := n.must("exec", "c1", "cat", "/sys/class/net/eth0/mtu"); strings.TrimSpace(mtu) != "1280" {
		t.Errorf("eth0's MTU on an mtu=1280 network: %s", mtu)
	}
	ls := n.must("network", "ls")
	if !strings.HasPrefix(ls, "NETWORK ID") || !strings.Contains(ls, "lab") || !strings.Contains(ls, "bridge") || !strings.Contains(ls, "host") {
		t.Errorf("network ls:\n%s", ls)
	}
	if q := n.must("network", "ls", "-q", "-f", "name=lab"); strings.TrimSpace(q) != d.ID[:12] {
		t.Errorf("network ls -q -f name=lab: %q, want %s", q, d.ID[:12])
	}
	if q := n.must("network", "ls", "--no-trunc", "-q", "--filter", "label=site=north"); strings.TrimSpace(q) != d.ID {
		t.Errorf("network ls --no-trunc -q --filter label=site=north: %q, want %s", q, d.ID)
	}
	if got := n.must("network", "inspect", "--format", "{{.Name}} {{.Driver}}", "lab"); got != "lab bridge\n" {
		t.Errorf("network inspect --format: %q", got)
	}
	if r := n.run("network", "rm", "--force", "nosuch"); r.code != 0 {
		t.Errorf("network rm --force of no network: %s, want exit 0 as docker", r)
	}

	// Refusals, each leaving nothing behind.
	defs := func() []string { return entries(filepath.Join(n.root, "networks")) }
	before := defs()
	free := fmt.Sprintf("10.195.%d.0/24", nextSubnet())
	tooSmall6 := "IPv6 subnet fd00:e2e:1::/122 is too small"
	if testenv.Rootless() {
		tooSmall6 = "--ipv6: rootless networks are IPv4 only" // refused before the subnet is read
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"network", "create", "--subnet", free, "lab"}, "network lab exists already"},
		{[]string{"network", "create", "--subnet", d.IPAM.Config[0].Subnet, "lab2"}, "overlaps " + d.IPAM.Config[0].Subnet + " of network lab"},
		{[]string{"network", "create", "--subnet", free, "--gateway", "192.168.77.1", "lab4"}, "is not a host address of the subnet"},
		{[]string{"network", "create", "--subnet", free, "no/pe"}, "network name"},
		{[]string{"network", "create", "--subnet", free, "bridge"}, "predefined"},
		{[]string{"network", "create", "--ipv6", "--subnet", free, "--subnet", "fd00:e2e:1::/122", "v6"}, tooSmall6},
		{[]string{"network", "create", "--subnet", free, "-o", "com.docker.network.bridge.enable_icc=true", "lab5"}, "unknown option"},
		{[]string{"network", "create", "--subnet", free, "-o", "bridge=" + bridge, "lab6"}, "network lab's"},
		{[]string{"network", "rm", "lab"}, "lab is used by container c1"},
		{[]string{"network", "rm", "bridge"}, "predefined network and cannot be removed"},
		{[]string{"network", "rm", "nope"}, "no such network"},
		{[]string{"run", "--rm", "--network", "nope", "busybox", "true"}, "--network \"nope\""},
		{[]string{"run", "--rm", "--network", "bridge", "--network-alias", "x", "busybox", "true"}, "needs a user-defined network"},
		{[]string{"run", "--rm", "--network", "lab", "--network", "lab", "busybox", "true"}, "given twice"},
		{[]string{"run", "--rm", "--network", "host", "--network", "lab", "busybox", "true"}, "cannot be combined"},
		{[]string{"network", "disconnect", "lab", "c1"}, "last network of container c1"},
		{[]string{"network", "connect", "lab", "c1"}, "already on network lab"},
	} {
		r := n.run(tt.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("edgerun %s: %s\nwant a refusal saying %q", strings.Join(tt.args, " "), r, tt.want)
		}
	}
	// In network create --subnet is the new network's: the default
	// bridge's comes from $EDGERUN_SUBNET (or is the default).
	n.extraEnv = []string{"EDGERUN_SUBNET=" + n.subnet}
	if r := n.run("network", "create", "--subnet", n.subnet, "lab3"); r.code == 0 || !strings.Contains(r.stderr, "of the default bridge network") {
		t.Errorf("a network on the default bridge's subnet: %s", r)
	}
	n.extraEnv = nil
	if after := defs(); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("definitions after the refusals: %v, before %v", after, before)
	}
	if ps := n.must("ps", "-a", "-q"); len(strings.Fields(ps)) != 1 {
		t.Errorf("containers after the refusals: %s", ps)
	}

	// connect and disconnect, running: eth1 comes and goes, names follow.
	n.userNetwork(t, "ops")
	n.must("run", "-d", "--name", "c2", "--network", "ops", "busybox", "sleep", "1000")
	opsIP := strings.TrimSuffix(strings.TrimSpace(n.must("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", "ops")), "0/24") + "77"
	n.must("network", "connect", "--alias", "gw", "--ip", opsIP, "ops", "c1")
	if addrs := n.must("exec", "c1", "ip", "-4", "-o", "addr"); !strings.Contains(addrs, "eth1") || !strings.Contains(addrs, " "+opsIP+"/") {
		t.Errorf("c1 after connect --ip %s:\n%s", opsIP, addrs)
	}
	if r := n.run("exec", "c2", "ping", "-c", "1", "-W", "2", "gw"); r.code != 0 {
		t.Errorf("c2 -> c1 by its alias on ops: %s", r)
	}
	if ps := n.must("ps", "--format", "{{.Networks}}", "-f", "name=c1"); strings.TrimSpace(ps) != "lab,ops" {
		t.Errorf("ps .Networks of c1: %q", ps)
	}
	n.must("network", "disconnect", "--force", "ops", "c1")
	if addrs := n.must("exec", "c1", "ip", "-4", "-o", "addr"); strings.Contains(addrs, "eth1") {
		t.Errorf("c1 after disconnect:\n%s", addrs)
	}
	if h := n.hostsOf("c2"); strings.Contains(h, "\tc1 ") || strings.Contains(h, " gw") {
		t.Errorf("c2's hosts still names c1 after the disconnect:\n%s", h)
	}
	// prune removes unused networks only.
	n.userNetwork(t, "idle")
	out := n.must("network", "prune", "--force")
	if !strings.Contains(out, "idle\n") || strings.Contains(out, "lab\n") || strings.Contains(out, "ops\n") {
		t.Errorf("network prune printed:\n%s", out)
	}
	if r := n.run("network", "inspect", "idle"); r.code == 0 {
		t.Errorf("idle is left after prune: %s", r)
	}
	if r := n.run("network", "inspect", "lab"); r.code != 0 {
		t.Errorf("prune took lab, which c1 is on: %s", r)
	}
}

func TestUserNetworkWithoutSubnetGetsOneOfThePool(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	// Without --subnet (so not through n.run, which gives the default
	// bridge's): a /24 of 10.91.0.0-10.99.255.0 that no route has.
	id := strings.TrimSpace(n.env.must("--bridge", n.bridge, "network", "create", "auto"))
	sub := strings.TrimSpace(n.must("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}}{{end}}", id[:12]))
	bridge := strings.TrimSpace(n.must("network", "inspect", "-f", "{{.Edgerun.Bridge}}", "auto"))
	t.Cleanup(func() {
		n.must("network", "rm", "auto")
		n.assertNoUserNetworkLeft(t, "auto", bridge)
	})
	var a, b, c int
	if _, err := fmt.Sscanf(sub, "10.%d.%d.%d/24", &a, &b, &c); err != nil || a < 91 || a > 99 || c != 0 {
		t.Errorf("picked %q, want a /24 of 10.91.0.0-10.99.255.0", sub)
	}
}

func TestUserNetworkKilledEdgerunMidSetupLeavesNothing(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.loadBusybox()
	n.userNetwork(t, "one")
	n.userNetwork(t, "two")
	for _, point := range []string{"network/after-lease", "network/after-veth"} {
		log := filepath.Join(n.base, "fault.log")
		n.extraEnv = []string{"EDGERUN_FAULT=" + point, "EDGERUN_FAULT_LOG=" + log}
		r := n.run("run", "--rm", "--network", "one", "--network", "two", "-p", fmt.Sprintf("%d:80", freePort(t)), "busybox", "true")
		n.extraEnv = nil
		if b, _ := os.ReadFile(log); !strings.Contains(string(b), point) {
			t.Fatalf("the fault point %s did not fire: %s", point, r)
		}
		os.Remove(log)
		// The next command cleans up what the killed run left on both networks.
		n.must("ps", "-a")
		n.assertNoNetworkLeft(t)
		for _, name := range []string{"one", "two"} {
			bridge := strings.TrimSpace(n.must("network", "inspect", "-f", "{{.Edgerun.Bridge}}", name))
			testenv.AssertNoNetwork(t, testenv.Network{Bridge: bridge, Root: n.root, State: n.state})
		}
	}
}

// nftTables lists the host's ip tables by name.
func nftTables(t *testing.T) map[string]bool {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatalf("nftables: %v", err)
	}
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatalf("list nftables tables: %v", err)
	}
	out := map[string]bool{}
	for _, tb := range tables {
		out[tb.Name] = true
	}
	return out
}
