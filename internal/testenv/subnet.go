package testenv

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// subnets hands out the third octet of FreeSubnet's prefixes: distinct
// within a test process (random picks of two tests met), from a random
// start so that two processes (packages run at once by go test) rarely do.
var subnets struct {
	sync.Once
	next atomic.Uint32
}

// FreeSubnet returns the next 10.SECOND.X.0/24 of this process that no
// interface of the host has an address in: edgerun refuses a subnet
// that overlaps a route, so a test's bridge must not meet another test's
// (each package keeps its own SECOND: e2e 195, container 196, the
// reliability suite 197, netns 198 and 199).
func FreeSubnet(t testing.TB, second byte) netip.Prefix {
	t.Helper()
	subnets.Do(func() { subnets.next.Store(rand.Uint32N(256)) })
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for range 256 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, second, byte(subnets.next.Add(1)), 0}), 24)
		if !slices.ContainsFunc(addrs, func(a net.Addr) bool {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				return false
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			return ok && p.Contains(ip.Unmap())
		}) {
			return p
		}
	}
	t.Fatalf("no free subnet in 10.%d.0.0/16", second)
	return netip.Prefix{}
}
