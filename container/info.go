package container

import (
	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/netns"
)

// RuntimeInfo is what `edgerun info` says of this edgerun: its
// containers and images, where it keeps them, and how it runs them.
type RuntimeInfo struct {
	// Containers counts them all; Running, Paused and Stopped split them
	// as docker does (a restarting container counts as stopped).
	Containers, Running, Paused, Stopped int
	Images                               int // stored images, named or not
	Root, State                          string
	Bridge, Subnet                       string
	Rootless                             bool
	// CgroupParent is where containers get their cgroups: /edgerun as
	// root, edgerun below the user's delegated cgroup rootless; "" when
	// they get none, and then NoCgroups says why.
	CgroupParent string
	NoCgroups    string
}

// Info counts the containers and images and says how this runtime is set
// up. It reads and changes nothing else.
func (r *Runtime) Info() (RuntimeInfo, error) {
	in := RuntimeInfo{Root: r.cfg.Root, State: r.cfg.State, Bridge: r.cfg.Bridge, Subnet: r.cfg.Subnet, Rootless: r.cfg.Rootless}
	if in.Bridge == "" {
		in.Bridge = netns.DefaultBridge
	}
	if in.Subnet == "" {
		in.Subnet = netns.DefaultSubnet
	}
	recs, err := r.Containers(true)
	if err != nil {
		return in, err
	}
	for _, rec := range recs {
		in.Containers++
		switch {
		case rec.Paused:
			in.Paused++
		case rec.State == StateRunning:
			in.Running++
		default:
			in.Stopped++
		}
	}
	store, err := r.Images()
	if err != nil {
		return in, err
	}
	sums, err := store.List()
	if err != nil {
		return in, err
	}
	seen := map[string]bool{}
	for _, s := range sums {
		if !seen[s.Digest.String()] {
			seen[s.Digest.String()] = true
			in.Images++
		}
	}
	if why := r.cgroupless(); why != nil {
		in.NoCgroups = why.Error()
	} else {
		in.CgroupParent = cgroups.PathIn(r.cgroupParent, "")
	}
	return in, nil
}
