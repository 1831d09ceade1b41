package netns

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Check is the network's part of `edgerun check`: what containers that no
// longer exist left behind. Files under the roots: address and port
// leases, network namespace mounts. The kernel's objects, only where they
// are provably this root's: veths on a bridge whose alias names this root
// (other roots' containers share the host, and their veths sit on their
// own bridges), and DNAT rules tagged edgerun:<id> in the tables of those
// bridges. Without Repair it only reads (no lock, no kernel change); with
// Repair each gone container's leftovers are torn down by ID, as Reclaim
// does. Kernel objects edgerun cannot read (rootless nftables) are not
// checked.

// CheckOptions configures Network.Check.
type CheckOptions struct {
	// Alive says whether a container of this root exists (a record, or a
	// live process creating it); what belongs to any other is a leftover.
	// Nil treats every container as alive.
	Alive func(id string) bool
	// Repair fixes what is found.
	Repair bool
	// Quarantine is where repair moves a damaged network definition.
	Quarantine string
}

// Finding is one thing Check found wrong, and what repair does about it.
type Finding struct {
	Kind     string // stable name, e.g. lease-stale
	Where    string // the file, or the kernel object
	Problem  string // what is wrong
	Repair   string // what repair does about it
	Repaired bool   // the repair was done
	Err      error  // why the repair failed
}

// The kinds of findings.
const (
	findLeaseStale   = "lease-stale"
	findLeaseInvalid = "lease-invalid"
	findNetnsStale   = "netns-stale"
	findVethOrphan   = "veth-orphan"
	findRuleOrphan   = "nft-rule-orphan"
	findDefDamaged   = "network-definition-damaged"
	findBridgeOrphan = "network-bridge-orphan"
)

// finding is a Finding with what repairs it: the teardown of container
// id (on bridge, when known), or fix.
type finding struct {
	Finding
	id, bridge string
	fix        func() error
}

// Check checks the network state of this root (see above).
func (n *Network) Check(opts CheckOptions) []Finding {
	alive := opts.Alive
	if alive == nil {
		alive = func(string) bool { return true }
	}
	found := n.checkLeases(alive)
	found = append(found, n.checkMounts(alive)...)
	found = append(found, n.checkDefinitions(opts.Quarantine)...)
	_ = n.inNS(func() error {
		found = append(found, n.checkKernel(alive)...)
		return nil
	})
	if opts.Repair {
		n.repair(found)
	}
	out := make([]Finding, len(found))
	for i, f := range found {
		out[i] = f.Finding
	}
	return out
}

// isID says whether s is a container ID (64 lowercase hex): only such
// names become veth names and teardowns.
func isID(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// gone is the finding of something container id left.
func gone(kind, where, problem, id, bridge string) *finding {
	return &finding{id: id, bridge: bridge, Finding: Finding{Kind: kind, Where: where, Problem: problem,
		Repair: "tear down what container " + id[:12] + " left (rules, veth, namespace mount, leases)"}}
}

// checkLeases finds address and port leases of containers that are gone,
// and leases that do not name a container.
func (n *Network) checkLeases(alive func(string) bool) []*finding {
	addrs, _ := filepath.Glob(n.addrLeaseGlob("*"))
	ports, _ := filepath.Glob(filepath.Join(n.portDir(), "*"))
	var found []*finding
	for _, p := range append(addrs, ports...) {
		owner := readLease(p)
		if owner == "" {
			continue // empty after a power cut: counts as free
		}
		what := "port lease " + filepath.Base(p)
		bridge := ""
		if filepath.Dir(p) != n.portDir() {
			bridge = filepath.Base(filepath.Dir(filepath.Dir(p)))
			what = "address lease " + filepath.Base(p) + " on bridge " + bridge
		}
		switch {
		case !isID(owner):
			found = append(found, &finding{Finding: Finding{Kind: findLeaseInvalid, Where: p,
				Problem: fmt.Sprintf("%s names %q, which is not a container ID", what, owner), Repair: "remove it"},
				fix: func() error { return removeFile(p) }})
		case !alive(owner):
			found = append(found, gone(findLeaseStale, p, what+" of container "+owner[:12]+", which is gone", owner, bridge))
		}
	}
	return found
}

func removeFile(p string) error {
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

// checkMounts finds network namespace mounts of containers that are gone.
func (n *Network) checkMounts(alive func(string) bool) []*finding {
	ents, _ := os.ReadDir(n.state)
	var found []*finding
	for _, e := range ents {
		if id := e.Name(); isID(id) && !alive(id) {
			found = append(found, gone(findNetnsStale, n.nsPath(id), "the network namespace of container "+id[:12]+", which is gone", id, ""))
		}
	}
	return found
}

// checkKernel finds veths and DNAT rules of gone containers on this root's
// bridges (those whose alias names this root).
func (n *Network) checkKernel(alive func(string) bool) []*finding {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil
	}
	defer h.Close()
	links, err := retry(func() ([]netlink.Link, error) { return h.LinkList() })
	if err != nil {
		return nil
	}
	own := map[int]string{} // bridge index -> name
	var found []*finding
	for _, l := range links {
		if a := l.Attrs(); l.Type() == "bridge" && n.ownsBridge(a.Alias) {
			own[a.Index] = a.Name
			found = append(found, n.checkBridge(a)...)
		}
	}
	for _, l := range links {
		a := l.Attrs()
		br, ok := own[a.MasterIndex]
		id, tagged := strings.CutPrefix(a.Alias, vethAliasPrefix)
		if !ok || !tagged || !isID(id) || !isVethOf(a.Name, id) || alive(id) {
			continue
		}
		found = append(found, gone(findVethOrphan, "veth "+a.Name+" on bridge "+br, "the veth of container "+id[:12]+", which is gone", id, br))
	}
	bridges := make([]string, 0, len(own))
	for _, br := range own {
		bridges = append(bridges, br)
	}
	sort.Strings(bridges)
	return append(found, n.checkRules(bridges, alive)...)
}

// isVethOf says whether name is one of container id's host veths.
func isVethOf(name, id string) bool {
	for i := range MaxInterfaces {
		if vethName(id, i) == name {
			return true
		}
	}
	return false
}

// checkRules finds the DNAT rules of gone containers in the bridges'
// tables.
func (n *Network) checkRules(bridges []string, alive func(string) bool) []*finding {
	if len(bridges) == 0 {
		return nil
	}
	c, err := nftConn()
	if err != nil {
		return nil
	}
	defer c.CloseLasting()
	var found []*finding
	for _, br := range bridges {
		t := n.table(br)
		rules, err := c.GetRules(t, &nftables.Chain{Name: chainPorts, Table: t})
		if err != nil {
			continue // no table yet, or not readable here
		}
		for _, r := range rules {
			s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
			id, tagged := strings.CutPrefix(strings.TrimRight(s, "\x00"), commentPrefx)
			if !tagged || !isID(id) || alive(id) {
				continue
			}
			where := fmt.Sprintf("nftables rule %d in table ip %s chain %s", r.Handle, t.Name, chainPorts)
			found = append(found, gone(findRuleOrphan, where, "a published port of container "+id[:12]+", which is gone", id, br))
		}
	}
	return found
}

// repair tears down each gone container once per bridge (a lease or mount
// without a bridge takes the bridge another finding of its container
// names), and runs the other fixes.
func (n *Network) repair(found []*finding) {
	bridgeOf := map[string]string{}
	for _, f := range found {
		if f.bridge != "" && bridgeOf[f.id] == "" {
			bridgeOf[f.id] = f.bridge
		}
	}
	type key struct{ id, bridge string }
	done := map[key]error{}
	for _, f := range found {
		if f.fix != nil {
			f.Err = f.fix()
			f.Repaired = f.Err == nil
			continue
		}
		k := key{f.id, f.bridge}
		if k.bridge == "" {
			k.bridge = bridgeOf[f.id]
		}
		err, ok := done[k]
		if !ok {
			err = n.Teardown(k.id, k.bridge)
			done[k] = err
		}
		f.Err, f.Repaired = err, err == nil
	}
}

// checkDefinitions finds network definitions that cannot be read as one
// (repair moves them to quarantine: a network is never deleted unseen).
func (n *Network) checkDefinitions(quarantine string) []*finding {
	s := OpenStore(Config{Root: filepath.Dir(n.root)})
	paths, _ := filepath.Glob(filepath.Join(s.dir, "*.json"))
	var found []*finding
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		if strings.HasPrefix(name, ".") {
			continue
		}
		if _, err := s.load(name); err == nil {
			continue
		}
		found = append(found, &finding{Finding: Finding{Kind: findDefDamaged, Where: p,
			Problem: "the definition of network " + name + " cannot be read", Repair: "move it to " + quarantine},
			fix: func() error {
				if quarantine == "" {
					return fmt.Errorf("no quarantine directory")
				}
				if err := os.MkdirAll(quarantine, 0o700); err != nil {
					return err
				}
				return os.Rename(p, filepath.Join(quarantine, filepath.Base(p)))
			}})
	}
	return found
}

// checkBridge finds a user-defined network's bridge of this root whose
// network has no definition any more (removed by hand): repair removes
// the bridge and its table when no container has an address on it.
func (n *Network) checkBridge(a *netlink.LinkAttrs) []*finding {
	name, ok := strings.CutPrefix(a.Alias, n.rootAlias()+networkAliasInfix)
	if !ok {
		return nil
	}
	s := OpenStore(Config{Root: filepath.Dir(n.root)})
	if d, err := s.load(name); err == nil && d.Bridge == a.Name {
		return nil
	}
	orphan := &Network{root: n.root, state: n.state, ns: n.ns, bridge: a.Name, name: name}
	return []*finding{{Finding: Finding{Kind: findBridgeOrphan, Where: "bridge " + a.Name,
		Problem: "the bridge of network " + name + ", which has no definition",
		Repair:  "remove the bridge, its table and its leases when no container is on it"},
		fix: func() error { return orphan.RemoveBridge(func(string) bool { return true }) }}}
}
