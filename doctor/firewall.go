package doctor

import "fmt"

// ForwardBlock is a forward chain of the host's firewall that drops what
// an edgerun bridge forwards, found by Options.ForwardBlocks (package
// netns reads the ruleset).
type ForwardBlock struct {
	// Problem says which chain drops what, as a sentence.
	Problem string
	// Commands allow the bridge's traffic in that chain.
	Commands []string
}

// checkFirewall reports forward chains of the host's firewall that would
// keep containers of the bridge from other networks. Rootless containers
// reach out through slirp4netns, in user space, which no forward chain of
// the host sees, so it is root's check only.
func checkFirewall(o Options) []Check {
	if o.UID != 0 || o.ForwardBlocks == nil {
		return nil
	}
	blocks, err := o.ForwardBlocks()
	if err != nil {
		return []Check{{Name: "firewall", Status: Warn,
			Detail: fmt.Sprintf("cannot read the nftables ruleset: %v: whether a forward chain of the host drops the containers' traffic is unknown", err)}}
	}
	if len(blocks) == 0 {
		return []Check{{Name: "firewall", Status: OK,
			Detail: fmt.Sprintf("no forward chain of the host's nftables (iptables-nft included) drops what bridge %s forwards", o.Bridge)}}
	}
	checks := make([]Check, 0, len(blocks))
	for _, b := range blocks {
		checks = append(checks, Check{Name: "firewall", Status: Warn,
			Detail:   b.Problem + " (an accept in edgerun's own table could not undo that drop)",
			Fix:      "allow the bridge in that chain: run these commands as root (and add the rules to the firewall's configuration, to keep them after a reboot)",
			Commands: b.Commands})
	}
	return checks
}
