package services

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/images"
	"github.com/edgerun/edgerun/internal/fault"
)

// PruneOptions select the stopped containers Prune removes: Filter's
// until looks at when a container was created, its labels at the
// container's (-l).
type PruneOptions struct {
	Filter container.PruneFilter
}

// PruneReport says what Prune removed and the space that freed: the
// removed containers' writable layers, measured just before removal.
type PruneReport struct {
	Removed []*container.Record
	Freed   int64
}

// Prune removes every stopped container (and every created one that is
// not being started) that opts.Filter lets go.
func Prune(ctx context.Context, r *container.Runtime, opts PruneOptions) (PruneReport, error) {
	var rep PruneReport
	recs, err := r.Containers(true)
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, rec := range recs {
		if rec.State != container.StateExited && rec.State != container.StateCreated {
			continue
		}
		if rec.State == container.StateCreated && r.Busy(rec) {
			continue // being started right now
		}
		if !opts.Filter.Match(rec.Created, rec.Labels) {
			continue
		}
		size := r.WritableSize(rec)
		got, err := r.RemoveContainer(ctx, rec.ID, false)
		if err != nil {
			if !errors.Is(err, container.ErrContainerRunning) && !errors.Is(err, container.ErrNoSuchContainer) {
				errs = append(errs, err)
			}
			continue
		}
		rep.Removed = append(rep.Removed, got)
		rep.Freed += size
		fault.Point("prune/after-remove")
	}
	return rep, errors.Join(errs...)
}

// SystemPruneOptions are `system prune`'s.
type SystemPruneOptions struct {
	// All removes every image no container uses, not only those without a
	// name.
	All bool
	// Volumes removes the named volumes no container uses too.
	Volumes bool
	Filter  container.PruneFilter
}

// Check refuses what docker refuses: until with Volumes (a volume's
// creation time is not what until means to docker either).
func (o SystemPruneOptions) Check() error {
	if o.Volumes && !o.Filter.Until.IsZero() {
		return fmt.Errorf("%w: the until filter is not supported with --volumes: prune volumes by label, or without --volumes", container.ErrInvalidFilter)
	}
	return nil
}

// SystemPruneReport says what SystemPrune removed.
type SystemPruneReport struct {
	Containers PruneReport
	Images     images.PruneReport
	Volumes    container.VolumePruneReport
}

// Freed is the space the whole prune freed.
func (r SystemPruneReport) Freed() int64 {
	return r.Containers.Freed + r.Images.Freed + r.Volumes.Freed
}

// SystemPrune is `system prune`: the stopped containers, then the images
// no container uses (without a name, or all with All) with the blobs and
// unpacked layers nothing needs any more, then, with Volumes, the named
// volumes no container uses. The network is not pruned: a root has one
// bridge, docker's default network, which stays (network prune removes
// it). Volumes have no labels, so a label= filter keeps every volume and
// a label!= filter none.
func SystemPrune(ctx context.Context, r *container.Runtime, opts SystemPruneOptions) (SystemPruneReport, error) {
	var rep SystemPruneReport
	if err := opts.Check(); err != nil {
		return rep, err
	}
	var err error
	if rep.Containers, err = Prune(ctx, r, PruneOptions{Filter: opts.Filter}); err != nil {
		return rep, err
	}
	rep.Images, err = r.PruneImages(ctx, container.ImagePruneOptions{All: opts.All, Filter: opts.Filter})
	if err != nil || !opts.Volumes || !opts.Filter.Match(time.Time{}, nil) {
		return rep, err
	}
	rep.Volumes, err = r.PruneVolumes(ctx)
	return rep, err
}
