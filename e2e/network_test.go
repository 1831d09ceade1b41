package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edgerun/edgerun/internal/testenv"
)

// netEnv is an env whose bridge containers use a bridge and subnet of this
// test's own; at the end its containers are removed and the bridge pruned
// (after checking that no veth, DNAT rule or lease is left).
type netEnv struct {
	*env
	bridge, subnet string
}

func newNetEnv(t *testing.T) *netEnv {
	t.Helper()
	e := newEnv(t)
	b := make([]byte, 3)
	rand.Read(b)
	n := &netEnv{env: e, bridge: fmt.Sprintf("ere%x", b), subnet: fmt.Sprintf("10.195.%d.0/24", nextSubnet())}
	t.Cleanup(func() {
		if ids := strings.Fields(n.run("ps", "-aq").stdout); len(ids) > 0 {
			n.run(append([]string{"rm", "-f"}, ids...)...)
		}
		n.assertNoNetworkLeft(t)
		if testenv.Rootless() {
			// The session's veths and DNAT rules, seen from inside it.
			if r := n.run("check"); r.code != 0 {
				t.Errorf("edgerun check after the test: %s", r)
			}
		}
		if r := n.run("network", "prune"); r.code != 0 {
			t.Errorf("network prune: %s", r)
		}
	})
	return n
}

// subnets hands out the third octet of the tests' 10.195.X.0/24 subnets:
// distinct within this process (a random pick made parallel tests collide),
// from a random start so that two processes rarely meet.
var subnets struct {
	sync.Once
	next atomic.Uint32
}

func nextSubnet() int {
	subnets.Do(func() {
		b := make([]byte, 1)
		rand.Read(b)
		subnets.next.Store(uint32(b[0]))
	})
	return int(subnets.next.Add(1) % 256)
}

// run runs edgerun with this env's bridge and subnet.
func (n *netEnv) run(args ...string) result {
	return n.env.run(append([]string{"--bridge", n.bridge, "--subnet", n.subnet}, args...)...)
}

// must runs edgerun with this env's bridge and subnet and fails the test
// unless it exits 0.
func (n *netEnv) must(args ...string) string {
	n.t.Helper()
	r := n.run(args...)
	if r.code != 0 {
		n.t.Fatalf("edgerun %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

func (n *netEnv) start(args ...string) *background {
	return n.env.start(append([]string{"--bridge", n.bridge, "--subnet", n.subnet}, args...)...)
}

// assertNoNetworkLeft checks that no veth, lease, netns mount or DNAT rule
// of the test's containers is left.
func (n *netEnv) assertNoNetworkLeft(t *testing.T) {
	t.Helper()
	testenv.AssertNoNetwork(t, testenv.Network{Bridge: n.bridge, Root: n.root, State: n.state})
}

// freePort is a TCP and UDP port nothing on the host uses right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// hostAddress is a non-loopback IPv4 address of this host.
func hostAddress(t *testing.T) string {
	t.Helper()
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ip, ok := a.(*net.IPNet); ok && ip.IP.To4() != nil && !ip.IP.IsLoopback() && !strings.HasPrefix(ip.IP.String(), "10.19") {
			return ip.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address on this host")
	return ""
}

// getReading GETs url until the container's server answers, bounded by
// cmdTimeout: a TCG VM that shares the host's CPUs with eight others may
// take many seconds to start it (nothing here measures time).
func getReading(url string) (string, error) {
	var err error
	for deadline := time.Now().Add(cmdTimeout); ; time.Sleep(50 * time.Millisecond) {
		var resp *http.Response
		c := http.Client{Timeout: 2 * time.Second}
		if resp, err = c.Get(url); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b), nil
		}
		if time.Now().After(deadline) {
			return "", err
		}
	}
}

func TestPublishedPortServesTheHostOnLocalhostAndItsAddressAndRmLeavesNothing(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.must("load", "-i", imagePath(t, "sensor"))
	port := freePort(t)
	b := n.start("run", "--rm", "--network", "bridge", "--name", "web", "-p", fmt.Sprintf("%d:8080", port), "sensor", "serve")
	for _, host := range []string{"127.0.0.1", hostAddress(t)} {
		got, err := getReading(fmt.Sprintf("http://%s:%d/reading", host, port))
		if err != nil || !strings.Contains(got, `"sensor"`) {
			t.Errorf("GET %s:%d/reading: %q, %v; stderr %s", host, port, got, err, b.stderr.String())
		}
	}
	if ps := n.must("ps"); !strings.Contains(ps, fmt.Sprintf("0.0.0.0:%d->8080/tcp", port)) {
		t.Errorf("ps does not show the published port:\n%s", ps)
	}
	// A second container cannot publish the same host port.
	if r := n.run("run", "--rm", "--network", "bridge", "-p", fmt.Sprintf("%d:80", port), "sensor", "read"); r.code != 125 || !strings.Contains(r.stderr, "already published") {
		t.Errorf("same host port twice: %s", r)
	}
	if r := n.run("rm", "-f", "web"); r.code != 0 {
		t.Fatalf("rm -f web: %s", r)
	}
	b.wait(t)
	n.assertNoNetworkLeft(t)
}

func TestKilledEdgerunAndContainerLeaveNoNetworkAfterTheNextCommand(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.loadBusybox()
	b := n.start("run", "--rm", "--network", "bridge", "--name", "victim", "-p", fmt.Sprintf("%d:80", freePort(t)),
		"busybox", "sh", "-c", "echo ready; exec sleep 100")
	b.waitLine(t, "ready")
	var recs []struct {
		State struct{ Pid int }
	}
	if err := json.Unmarshal([]byte(n.must("inspect", "victim")), &recs); err != nil || len(recs) != 1 {
		t.Fatalf("inspect: %v", err)
	}
	// edgerun first (so nobody removes the container), then the container.
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-b.done
	if err := syscall.Kill(recs[0].State.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", recs[0].State.Pid)); err != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Any command cleans up; an --rm container that died is removed, with its network.
	if r := n.run("ps", "-a"); r.code != 0 || strings.Contains(r.stdout, "victim") {
		t.Fatalf("ps -a after the kill: %s", r)
	}
	n.assertNoNetworkLeft(t)
}

func TestContainersReachEachOtherByNameAndTheBridgeNameIsChecked(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.loadBusybox()
	b := n.start("run", "--rm", "--network", "bridge", "--name", "server", "busybox", "sh", "-c", "echo ready; exec nc -l -p 7000 -e echo pong")
	b.waitLine(t, "ready")
	// A detached container's own hosts file names its peers before its
	// command runs, and theirs name it once run -d has returned: they are
	// written while its monitor starts it.
	n.noteID(strings.TrimSpace(n.must("run", "-d", "--network", "bridge", "--name", "early", "busybox", "sh", "-c", "echo server=$(grep -c server /etc/hosts); exec sleep 600")))
	if r := n.run("exec", "server", "grep", "-c", "early", "/etc/hosts"); r.code != 0 || strings.TrimSpace(r.stdout) != "1" {
		t.Errorf("the peer's /etc/hosts right after run -d returned: %s", r)
	}
	for deadline := time.Now().Add(cmdTimeout); ; time.Sleep(50 * time.Millisecond) {
		r := n.run("logs", "early")
		if strings.Contains(r.stdout, "server=") {
			if !strings.Contains(r.stdout, "server=1") {
				t.Errorf("a detached container's /etc/hosts at its first command: %s, want the line naming server", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logs early: no line after %v: %s", cmdTimeout, r)
		}
	}
	n.must("rm", "-f", "early")
	r := n.run("run", "--rm", "--network", "bridge", "busybox", "sh", "-c", "nc server 7000 </dev/null")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "pong" {
		t.Errorf("nc server 7000 from another container: %s", r)
	}
	b.wait(t)
	// Another edgerun root may not take over this bridge.
	other := newEnv(t)
	other.loadBusybox()
	r = other.run("--bridge", n.bridge, "--subnet", n.subnet, "run", "--rm", "--network", "bridge", "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "belongs to another program or edgerun root") {
		t.Errorf("a second root on the same bridge: %s", r)
	}
}
