package netns

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"

	"github.com/edgerun/edgerun/internal/lockfile"
)

// MovePorts hands the published ports of container from over to
// container to, at address ip on the same bridge: its DNAT rules are
// replaced in one nftables transaction, so a new connection reaches one
// of the two, never neither (connections already made stay with from
// until it ends). The port leases follow. Run again after a crash it
// finishes the move.
func (n *Network) MovePorts(ctx context.Context, from, to string, ip, ip6 netip.Addr, ports []PortMapping) error {
	if len(ports) == 0 {
		return nil
	}
	lock, err := lockfile.Exclusive(ctx, n.lockPath())
	if err != nil {
		return err
	}
	defer lock.Unlock()
	err = n.inNS(func() error {
		c, err := nftConn()
		if err != nil {
			return err
		}
		defer c.CloseLasting()
		for _, f := range n.families() {
			rules, err := c.GetRules(f.table, &nftables.Chain{Name: chainPorts, Table: f.table})
			if err != nil {
				return nftError(err)
			}
			for _, r := range rules {
				s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
				if tag := strings.TrimRight(s, "\x00"); tag == commentPrefx+from || tag == commentPrefx+to {
					if err := c.DelRule(r); err != nil {
						return nftError(err)
					}
				}
			}
		}
		n.queuePortRules(c, to, ip, ip6, ports)
		if err := c.Flush(); err != nil {
			return nftError(err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("move the published ports to the new container: %w", err)
	}
	for _, p := range ports {
		if err := writeFile(filepath.Join(n.portDir(), portLeaseName(p)), []byte(to+"\n"), false); err != nil {
			return fmt.Errorf("lease port %s: %w", p, err)
		}
	}
	return nil
}
