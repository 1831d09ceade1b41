package container

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"

	"github.com/edgerun/edgerun/internal/lockfile"
	"github.com/edgerun/edgerun/netns"
)

// refreshPeerHosts rewrites the /etc/hosts of every container on the
// bridges so that each names the containers it shares a network with,
// itself included: one section per network it is on, each with the
// peers' addresses on that network (names, short IDs and aliases).
// Containers reach each other by name without a DNS server, and only on
// the networks they share. skip is a container being removed.
func (r *Runtime) refreshPeerHosts(bridges []string, skip string) error {
	rest, err := r.refreshPeerHostsFirst(bridges, skip, "")
	return errors.Join(err, rest())
}

// refreshPeerHostsFirst is refreshPeerHosts in two steps: it rewrites the
// hosts file of container first (when it is on the bridges) before it
// returns, and the others' when rest is called, holding the hosts lock
// until then. A new container's own file is whole before it starts; its
// peers' files are written while its monitor starts it (handOver).
func (r *Runtime) refreshPeerHostsFirst(bridges []string, skip, first string) (rest func() error, err error) {
	rest = func() error { return nil }
	if len(bridges) == 0 {
		return rest, nil
	}
	n := r.anyNetwork()
	if n == nil {
		return rest, nil
	}
	lock, err := lockfile.Exclusive(context.Background(), filepath.Join(r.cfg.Root, "network", "hosts.lock"))
	if err != nil {
		return rest, err
	}
	pc := &peerCache{r: r, n: n, skip: skip, recs: map[string]*Record{}, peers: map[string][]netns.Peer{}}
	var targets []*Record
	for _, b := range bridges {
		for _, p := range pc.on(b) {
			if rec := pc.recs[p.ID]; !slices.Contains(targets, rec) {
				targets = append(targets, rec)
			}
		}
	}
	// The containers of one network share its section: rendered once, not
	// once per container (that was quadratic in the containers).
	sections := map[string]string{}
	contents := make([]string, len(targets))
	for i, rec := range targets {
		var b strings.Builder
		for _, a := range rec.Network.Attachments() {
			label := hostsLabel(a)
			s, ok := sections[label]
			if !ok {
				s = netns.PeersSection(label, pc.on(a.Bridge))
				sections[label] = s
			}
			b.WriteString(s)
		}
		contents[i] = b.String()
	}
	write := func(i int) error {
		return netns.RewritePeers(filepath.Join(r.containerDir(targets[i].ID), "hosts"), contents[i])
	}
	var firstErr error
	if i := slices.IndexFunc(targets, func(rec *Record) bool { return rec.ID == first }); i >= 0 {
		firstErr = write(i)
		targets, contents = slices.Delete(targets, i, i+1), slices.Delete(contents, i, i+1)
	}
	return func() error {
		defer lock.Unlock()
		// Small files, each its own open, read, write and truncate: a
		// few workers overlap the system calls.
		errs := make([]error, len(targets))
		inParallel(len(targets), func(i int) { errs[i] = write(i) })
		return errors.Join(errs...)
	}, firstErr
}

// hostsLabel names an attachment's network in the hosts file's section.
func hostsLabel(a *netns.Attachment) string {
	if a.Network == "" {
		return a.Bridge
	}
	return a.Bridge + " (network " + a.Network + ")"
}

// peerCache reads each bridge's leases and each container's record once.
type peerCache struct {
	r     *Runtime
	n     *netns.Network
	skip  string
	recs  map[string]*Record
	peers map[string][]netns.Peer // by bridge
}

// on are the containers on bridge: the holders of its leases whose
// records have an attachment on it, at their addresses there.
func (pc *peerCache) on(bridge string) []netns.Peer {
	if ps, ok := pc.peers[bridge]; ok {
		return ps
	}
	leases, _ := pc.n.LeasesOn(bridge)
	var missing []string
	seen := map[string]bool{}
	for _, l := range leases {
		if _, ok := pc.recs[l.ID]; !ok && l.ID != pc.skip && !seen[l.ID] {
			missing, seen[l.ID] = append(missing, l.ID), true
		}
	}
	loaded := make([]*Record, len(missing))
	inParallel(len(missing), func(i int) { loaded[i], _ = pc.r.loadRecord(missing[i]) })
	for i, id := range missing {
		pc.recs[id] = loaded[i]
	}
	ps := []netns.Peer{}
	for _, l := range leases {
		if l.ID == pc.skip {
			continue
		}
		rec := pc.recs[l.ID]
		if rec == nil {
			continue
		}
		for _, a := range rec.Network.Attachments() {
			if a.Bridge == bridge && a.IP == l.IP {
				ps = append(ps, netns.Peer{IP: a.IP, IP6: a.IP6, Name: rec.Name, ID: rec.ID, Aliases: a.Aliases})
			}
		}
	}
	pc.peers[bridge] = ps
	return ps
}
