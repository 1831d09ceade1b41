package container

import (
	"context"
	"errors"
	"io/fs"
	"os"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/images"
	"github.com/edgerun/edgerun/netns"
	"github.com/edgerun/edgerun/rootfs"
)

// `edgerun check` is an fsck for the store and the state: each package
// checks what it owns (image: blobs, the index, ingest; rootfs: the layer
// cache; netns: leases, namespace mounts, veths and rules; cgroups: the
// kernel's cgroups), with liveness coming in as callbacks from here;
// this file adds the containers (records, directories, names, mounts)
// and interrupted updates (check_updates.go), and puts the answers
// together. Without Repair nothing is written; with
// it, what is safe is fixed (leftovers and orphans removed, stale leases
// and claims reclaimed) and damaged things are moved aside into
// <root>/quarantine, never deleted.

// CheckOptions are the inputs of `edgerun check`.
type CheckOptions struct {
	// Repair fixes what is found; without it check only reads.
	Repair bool
	// Quick skips re-hashing every blob, the costly part of the check
	// (edgerun boot runs the quick check).
	Quick bool
}

// Finding is one thing check found wrong: what it is, where, and what
// repair does about it (and, after a repair, whether it was done).
type Finding struct {
	Kind     string `json:"kind"`
	Where    string `json:"where"`
	Problem  string `json:"problem"`
	Repair   string `json:"repair"`
	Repaired bool   `json:"repaired"`
	Error    string `json:"error,omitempty"`
}

// Handled says whether nothing is left to repair: every finding repaired.
func Handled(found []Finding) bool {
	for _, f := range found {
		if !f.Repaired {
			return false
		}
	}
	return true
}

// Check checks the roots of cfg. Unlike every other command it does not
// run the cleanup first, so it reports what that cleanup would fix; a
// root that does not exist has nothing to check.
func Check(ctx context.Context, cfg Config, opts CheckOptions) ([]Finding, error) {
	r, err := openRoots(cfg, opts.Repair)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(r.cfg.Root); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return r.Check(ctx, opts)
}

// Check checks this runtime's roots (edgerun boot, after Open's cleanup).
// Repairs run in an order where one's result is seen by the next: damaged
// blobs before the images that need them, the layer cache before the
// containers whose layers it holds, interrupted updates (which remove and
// start containers) before the containers, containers before their
// leases, names and cgroups.
func (r *Runtime) Check(ctx context.Context, opts CheckOptions) ([]Finding, error) {
	var out []Finding
	add := func(kind, where, problem, repair string, repaired bool, err error) {
		f := Finding{Kind: kind, Where: where, Problem: problem, Repair: repair, Repaired: repaired}
		if err != nil {
			f.Error = err.Error()
		}
		out = append(out, f)
	}
	imgs, err := image.Check(ctx, r.cfg.Root, image.CheckOptions{Verify: !opts.Quick, Repair: opts.Repair})
	if err != nil {
		return nil, err
	}
	for _, f := range imgs {
		add(f.Kind, f.Where, f.Problem, f.Repair, f.Repaired, f.Err)
	}
	used := r.layersInUse()
	layers, err := rootfs.CheckCache(ctx, images.LayerCache(r.cfg.Root), rootfs.CacheCheckOptions{
		InUse: func(d digest.Digest) bool { return used[d] }, Quarantine: r.quarantineSub("layers"), Repair: opts.Repair,
	})
	if err != nil {
		return nil, err
	}
	for _, f := range layers {
		add(f.Kind, f.Where, f.Problem, f.Repair, f.Repaired, f.Err)
	}
	for _, check := range []func(context.Context) []*finding{r.checkUpdates, r.checkContainers, r.checkNames} {
		for _, f := range repairAll(check(ctx), opts.Repair) {
			add(f.Kind, f.Where, f.Problem, f.Repair, f.Repaired, f.err)
		}
	}
	if n := r.anyNetwork(); n != nil {
		for _, f := range n.Check(netns.CheckOptions{Alive: r.containerExists, Repair: opts.Repair, Quarantine: r.quarantineSub("networks")}) {
			add(f.Kind, f.Where, f.Problem, f.Repair, f.Repaired, f.Err)
		}
	}
	for _, f := range repairAll(r.checkCgroups(), opts.Repair) {
		add(f.Kind, f.Where, f.Problem, f.Repair, f.Repaired, f.err)
	}
	return out, nil
}

// finding is one of this package's findings, with its fix (nil: nothing
// repair can do).
type finding struct {
	Finding
	fix func() error
	err error
}

// repairAll applies the fixes of found when repair says so.
func repairAll(found []*finding, repair bool) []*finding {
	if !repair {
		return found
	}
	for _, f := range found {
		if f.fix != nil {
			f.err = f.fix()
			f.Repaired = f.err == nil
		}
	}
	return found
}

// layersInUse are the layers of this root's containers.
func (r *Runtime) layersInUse() map[digest.Digest]bool {
	used := map[digest.Digest]bool{}
	recs, _ := r.listRecords()
	for _, rec := range recs {
		for _, d := range rec.Layers {
			used[d] = true
		}
	}
	return used
}
