package doctor

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestFirewallCheckReportsEachBlockingChainWithItsCommands(t *testing.T) {
	o := options(base().write(t))
	o.Bridge = "edgerun0"
	if checks := checkFirewall(o); len(checks) != 0 {
		t.Errorf("without ForwardBlocks: %+v", checks)
	}
	o.ForwardBlocks = func() ([]ForwardBlock, error) { return nil, nil }
	if c := find(t, Run(o), "firewall"); c.Status != OK || !strings.Contains(c.Detail, "edgerun0") {
		t.Errorf("no blocks: %+v", c)
	}
	cmds := []string{`nft insert rule inet filter forward iifname "edgerun0" accept`}
	o.ForwardBlocks = func() ([]ForwardBlock, error) {
		return []ForwardBlock{{Problem: "table inet filter, chain forward (policy drop) drops what bridge edgerun0 forwards", Commands: cmds},
			{Problem: "table ip filter, chain FORWARD (policy drop) drops ...", Commands: []string{"iptables -I DOCKER-USER -i edgerun0 -j ACCEPT"}}}, nil
	}
	r := Run(o)
	var fw []Check
	for _, c := range r.Checks {
		if c.Name == "firewall" {
			fw = append(fw, c)
		}
	}
	if len(fw) != 2 || fw[0].Status != Warn || !slices.Equal(fw[0].Commands, cmds) || !strings.HasPrefix(fw[1].Detail, "table ip filter") {
		t.Fatalf("two blocks: %+v", fw)
	}
	if !r.OK {
		t.Errorf("a blocking firewall fails the report: containers still run")
	}
	o.ForwardBlocks = func() ([]ForwardBlock, error) { return nil, errors.New("EPERM") }
	if c := find(t, Run(o), "firewall"); c.Status != Warn || !strings.Contains(c.Detail, "EPERM") {
		t.Errorf("unreadable ruleset: %+v", c)
	}
	// Rootless containers go out through slirp4netns: not checked.
	o.UID, o.User = 1000, "pi"
	for _, c := range Run(o).Checks {
		if c.Name == "firewall" {
			t.Errorf("rootless: %+v", c)
		}
	}
}
