package netns

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/edgerun/edgerun/internal/testenv"
)

// benchNetwork is a network of its own for a benchmark, removed at the end.
func benchNetwork(b *testing.B, bridge, subnet string) *Network {
	b.Helper()
	testenv.RequireRoot(b, "create network namespaces, bridges and nftables rules")
	dir := b.TempDir()
	n, err := Open(Config{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"), Bridge: bridge, Subnet: subnet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := n.RemoveBridge(func(string) bool { return false }); err != nil {
			b.Errorf("remove the bridge: %v", err)
		}
	})
	return n
}

// BenchmarkSetupTeardownPorts measures what published ports add to a
// container's network setup and removal: one lease (fsynced, as for a
// detached container) and one DNAT rule per port, so a range of 100
// (-p A-B:A-B) against one port.
func BenchmarkSetupTeardownPorts(b *testing.B) {
	for i, k := range []int{1, 100} {
		b.Run("ports="+strconv.Itoa(k), func(b *testing.B) {
			n := benchNetwork(b, fmt.Sprintf("erbench%d", 2+i), fmt.Sprintf("10.192.%d.0/24", 2+i))
			base := freeRange(b, k)
			ms, err := ParsePublish(fmt.Sprintf("%d-%d:%d-%d", base, int(base)+k-1, base, int(base)+k-1))
			if err != nil {
				b.Fatal(err)
			}
			for j := 0; b.Loop(); j++ {
				id := fmt.Sprintf("%013x%051x", j+1, 0)
				a, err := n.Setup(context.Background(), SetupOptions{ID: id, Ports: ms})
				if err != nil {
					b.Fatal(err)
				}
				if err := n.Teardown(id, a.Bridge); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkConnectThroughPortRules measures a new TCP connection from the
// host to a published port whose DNAT rule is the first, or the 100th, of
// the ports chain: nftables walks the chain for the first packet of every
// connection (later packets follow conntrack).
func BenchmarkConnectThroughPortRules(b *testing.B) {
	n := benchNetwork(b, "erbench4", "10.192.4.0/24")
	const k = 100
	base := freeRange(b, k)
	ms, err := ParsePublish(fmt.Sprintf("%d-%d:%d-%d", base, base+k-1, base, base+k-1))
	if err != nil {
		b.Fatal(err)
	}
	id := fmt.Sprintf("%013x%051x", 1, 0)
	a, err := n.Setup(context.Background(), SetupOptions{ID: id, Ports: ms, Volatile: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = n.Teardown(id, a.Bridge) })
	for _, port := range []uint16{base, base + k - 1} {
		var l net.Listener
		if err := inNS(b, a.NetNS, func() (err error) { l, err = net.Listen("tcp4", ":"+strconv.Itoa(int(port))); return err }); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	for _, rule := range []int{1, k} {
		b.Run("rule="+strconv.Itoa(rule), func(b *testing.B) {
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(base)+rule-1))
			for b.Loop() {
				c, err := net.Dial("tcp4", addr)
				if err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}
