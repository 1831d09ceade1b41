package doctor

import (
	"fmt"
	"runtime"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ProbeNetwork is the real Options.ProbeNetwork: in a throwaway network
// namespace it creates a veth pair, a bridge and an nftables table (the
// kernel loads their modules on demand), and reports per module whether
// that worked. The namespace lives only on one OS thread, which is thrown
// away afterwards, so nothing is left on the host.
func ProbeNetwork() map[string]error {
	res := make(chan map[string]error, 1)
	go func() {
		// Never unlocked: the goroutine's thread, now in another network
		// namespace, ends with it.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			err = fmt.Errorf("create a network namespace: %w", err)
			res <- map[string]error{"nf_tables": err, "veth": err, "bridge": err}
			return
		}
		res <- probeNetworkHere()
	}()
	return <-res
}

// probeNetworkHere runs in the fresh namespace.
func probeNetworkHere() map[string]error {
	out := map[string]error{}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		err = fmt.Errorf("open netlink: %w", err)
		out["veth"], out["bridge"] = err, err
	} else {
		defer h.Close()
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "doctor0"}, PeerName: "doctor1"}
		if err := h.LinkAdd(veth); err != nil {
			out["veth"] = fmt.Errorf("create a veth pair: %w", err)
		}
		if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "doctorbr0"}}); err != nil {
			out["bridge"] = fmt.Errorf("create a bridge: %w", err)
		}
	}
	c, err := nftables.New()
	if err == nil {
		c.AddTable(&nftables.Table{Family: nftables.TableFamilyINet, Name: "edgerun_doctor"})
		err = c.Flush()
		_ = c.CloseLasting()
	}
	if err != nil {
		out["nf_tables"] = fmt.Errorf("create an nftables table: %w", err)
	}
	return out
}
