package container

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgerun/edgerun/internal/testenv"
	"github.com/edgerun/edgerun/netns"
	"github.com/edgerun/edgerun/specgen"
)

// netRuntime is testRuntime with a bridge and subnet of this test's own,
// removed at the end (after the leftover checks).
func netRuntime(t *testing.T) *Runtime {
	t.Helper()
	r := testRuntime(t)
	b := make([]byte, 3)
	rand.Read(b)
	r.cfg.Bridge = fmt.Sprintf("ertr%x", b)
	r.cfg.Subnet = testenv.FreeSubnet(t, 196).String()
	n, err := r.network()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		assertNoNetworkLeftovers(t, r)
		if err := n.RemoveBridge(func(string) bool { return false }); err != nil {
			t.Errorf("remove the test bridge: %v", err)
		}
	})
	return r
}

// assertNoNetworkLeftovers checks that no lease, netns mount, veth or
// DNAT rule of the test's containers is left.
func assertNoNetworkLeftovers(t *testing.T, r *Runtime) {
	t.Helper()
	recs, _ := r.listRecords()
	for _, rec := range recs {
		removeLeftover(t, r, rec.ID)
	}
	testenv.AssertNoNetwork(t, testenv.Network{Bridge: r.cfg.Bridge, Root: r.cfg.Root, State: r.cfg.State})
}

// startBackground runs a container in the background and waits until it
// runs; it returns its record and a channel with Run's result. The wait is
// long: in a TCG VM sharing the CPUs with eight others a start has taken
// over 6 s (nothing here measures time).
func startBackground(t *testing.T, r *Runtime, opts RunOptions) (*Record, <-chan error) {
	t.Helper()
	opts.Image = "busybox"
	opts.Stdout, opts.Stderr = os.Stderr, os.Stderr
	done := make(chan error, 1)
	go func() { _, err := r.Run(context.Background(), opts); done <- err }()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		if rec, err := r.Inspect(opts.Name); err == nil && rec.State == StateRunning {
			return rec, done
		}
		select {
		case err := <-done:
			t.Fatalf("container %s ended before it ran: %v", opts.Name, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("container %s did not start within 2 minutes", opts.Name)
	return nil, nil
}

func TestBridgeContainersPingEachOtherByAddressAndName(t *testing.T) {
	r := netRuntime(t)
	a, done := startBackground(t, r, RunOptions{Name: "pinged", Remove: true,
		Net: NetOptions{Mode: NetworkBridge}, Spec: specgen.SpecOptions{Args: []string{"sleep", "60"}}})
	defer func() {
		removeLeftover(t, r, a.ID)
		if err := <-done; err != nil {
			t.Errorf("run %s: %v", a.Name, err)
		}
	}()
	ip := a.Network.Bridge.IP.String()
	code, out, err := run(t, r, RunOptions{Remove: true, Net: NetOptions{Mode: NetworkBridge}, Spec: specgen.SpecOptions{Args: []string{"sh", "-c", "ping -c1 -W2 " + ip + " && ping -c1 -W2 pinged"}}})
	if err != nil || code != 0 || !strings.Contains(out, "64 bytes from "+ip) {
		t.Fatalf("ping %s and pinged: code %d, %v\n%s", ip, code, err, out)
	}
}

func TestBridgeContainerHasAddressRouteAndHostsEntry(t *testing.T) {
	r := netRuntime(t)
	_, out, err := run(t, r, RunOptions{Remove: true, Spec: specgen.SpecOptions{Hostname: "probe",
		Args: []string{"sh", "-c", "ip -o -4 addr show eth0; ip route; grep probe /etc/hosts"}}, Net: NetOptions{Mode: NetworkBridge, IP: "10.197.0.0"}})
	if err == nil {
		t.Fatalf("--ip outside the subnet was accepted: %s", out)
	}
	subnet := netip.MustParsePrefix(r.cfg.Subnet)
	want := subnet.Addr().Next().Next().Next().Next() // .4
	code, out, err := run(t, r, RunOptions{Remove: true, Spec: specgen.SpecOptions{Hostname: "probe",
		Args: []string{"sh", "-c", "ip -o -4 addr show eth0; ip route; grep probe /etc/hosts"}}, Net: NetOptions{Mode: NetworkBridge, IP: want.String()}})
	if err != nil || code != 0 {
		t.Fatalf("code %d, %v\n%s", code, err, out)
	}
	for _, s := range []string{"inet " + want.String() + "/24", "default via " + subnet.Addr().Next().String(), want.String() + "\tprobe"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestNoneModeHasOnlyLoopbackAndHostModeSeesHostInterfaces(t *testing.T) {
	r := netRuntime(t)
	_, out, err := run(t, r, RunOptions{Remove: true, Net: NetOptions{Mode: NetworkNone}, Spec: specgen.SpecOptions{Args: []string{"ls", "/sys/class/net"}}})
	if err != nil || strings.Fields(out)[0] != "lo" || len(strings.Fields(out)) != 1 {
		t.Errorf("none mode interfaces: %q, %v; want only lo", out, err)
	}
	host, _ := os.ReadDir("/sys/class/net")
	_, out, err = run(t, r, RunOptions{Remove: true, Net: NetOptions{Mode: NetworkHost}, Spec: specgen.SpecOptions{Args: []string{"ls", "/sys/class/net"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Other tests add and remove interfaces meanwhile: every host interface
	// that existed before and still exists must have been seen.
	seen := strings.Fields(out)
	for _, e := range host {
		if _, err := os.Stat("/sys/class/net/" + e.Name()); err == nil && !slices.Contains(seen, e.Name()) {
			t.Errorf("host mode does not see the host's %s: %q", e.Name(), out)
		}
	}
}

func TestTwentyParallelContainersGetDistinctAddresses(t *testing.T) {
	r := netRuntime(t)
	const count = 20
	var mu sync.Mutex
	addrs := map[string]bool{}
	var wg sync.WaitGroup
	for range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out, err := run(t, r, RunOptions{Remove: true, Net: NetOptions{Mode: NetworkBridge}, Spec: specgen.SpecOptions{Args: []string{"sh", "-c", "ip -o -4 addr show eth0 | awk '{print $4}'"}}})
			if err != nil || code != 0 {
				t.Errorf("code %d, %v: %s", code, err, out)
				return
			}
			mu.Lock()
			addrs[strings.TrimSpace(out)] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(addrs) != count {
		t.Fatalf("%d containers had %d distinct addresses: %v", count, len(addrs), addrs)
	}
}

func TestNetworkOfACreateKilledMidwayIsReclaimed(t *testing.T) {
	r := netRuntime(t)
	n, _ := r.network()
	// What an edgerun killed between network setup and the record leaves:
	// a container directory without record, a lease, a netns, a veth, a rule.
	id := strings.Repeat("ab", 32)
	if err := os.MkdirAll(r.containerDir(id), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Setup(context.Background(), netns.SetupOptions{ID: id,
		Ports: []netns.PortMapping{{ContainerPort: 80, Proto: "tcp"}}}); err != nil {
		t.Fatal(err)
	}
	if err := r.cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/sys/class/net/" + "ve" + id[:13]); err == nil {
		t.Errorf("veth of the killed create is left")
	}
	// assertNoNetworkLeftovers (cleanup) checks leases and mounts.
}

func TestPublishRequiresBridgeAndBadSpecsLeaveNothing(t *testing.T) {
	r := netRuntime(t)
	for _, o := range []RunOptions{
		{Net: NetOptions{Mode: NetworkHost, Publish: []string{"80:80"}}},
		{Net: NetOptions{Mode: NetworkBridge, Publish: []string{"80:80/sctp"}}},
		{Net: NetOptions{Mode: "container:nosuch"}},
		{Net: NetOptions{Mode: "wifi"}},
	} {
		o.Spec.Args = []string{"true"}
		if code, out, err := run(t, r, o); err == nil || code != ExitRuntimeFailed {
			t.Errorf("%+v: code %d, %v, %s; want 125", o.Net, code, err, out)
		}
	}
	if ents, _ := os.ReadDir(r.containersDir()); len(ents) != 0 {
		t.Errorf("refused runs left containers: %v", ents)
	}
}

func TestNetworkOfAStoppedContainerIsRestoredAfterAReboot(t *testing.T) {
	r := netRuntime(t)
	if code, out, err := run(t, r, RunOptions{Name: "keep", Spec: specgen.SpecOptions{Args: []string{"true"}},
		Net: NetOptions{Mode: NetworkBridge, Publish: []string{"80"}}}); err != nil || code != 0 {
		t.Fatalf("code %d, %v: %s", code, err, out)
	}
	rec, err := r.Inspect("keep")
	if err != nil {
		t.Fatal(err)
	}
	old := *rec.Network.Bridge
	if !netns.Mounted(old.NetNS) {
		t.Fatal("a stopped container lost its network namespace: it must live as long as the container")
	}
	// A reboot: the namespace (with its veth) and the rules are gone, the leases are not.
	n, _ := r.network()
	if err := n.Teardown(rec.ID, old.Bridge); err != nil {
		t.Fatal(err)
	}
	if err := r.ensureNetwork(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	got := rec.Network.Bridge
	if !netns.Mounted(got.NetNS) || got.IP != old.IP || len(got.Ports) != 1 || got.Ports[0] != old.Ports[0] {
		t.Fatalf("restored attachment %+v, want the old address and port of %+v", got, old)
	}
	if _, err := os.Stat("/sys/class/net/" + got.HostVeth); err != nil {
		t.Fatalf("no veth after the restore: %v", err)
	}
}
