// Package services runs what edgerun does for a device's whole set of
// containers rather than for one: Boot at start-up (start what the
// restart policies ask for), Shutdown before a power-down (stop every
// container without counting as the user's stop), Prune (remove every
// stopped container; SystemPrune adds images and volumes), Info (edgerun
// info: the runtime's counts with doctor's host facts), and Apply
// (reconcile the containers of a service file, package compose, with it).
// It drives containers only through package container's API (using the
// option types of images and health) and reads the host through doctor;
// it may not import runc, cmd/edgerun, or the other packages below
// container.
package services

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/internal/fault"
)

// BootOptions configures Boot.
type BootOptions struct {
	// Found receives what the quick check Boot runs found (and repaired);
	// nil ignores it.
	Found func(container.Finding)
}

// Boot is `edgerun boot`, run once by the init system after the device
// starts: opening the runtime r already cleared the volatile state of the
// previous boot and recorded its containers as exited; Boot then runs the
// quick part of `edgerun check --repair` (everything but re-hashing the
// blobs), and starts every container whose restart policy is `always`, or
// `unless-stopped` and not stopped by the user (a stop by `boot
// --shutdown` does not count). It returns the containers started. A check
// that fails does not keep the containers from starting.
func Boot(ctx context.Context, r *container.Runtime, opts BootOptions) ([]*container.Record, error) {
	var errs []error
	found, err := r.Check(ctx, container.CheckOptions{Repair: true, Quick: true})
	if err != nil {
		errs = append(errs, fmt.Errorf("check: %w", err))
	}
	for _, f := range found {
		if opts.Found != nil {
			opts.Found(f)
		}
	}
	// An update killed midway is finished or rolled back before anything
	// starts: else its replacement and the old container would both start.
	if _, err := r.RecoverUpdates(ctx); err != nil {
		errs = append(errs, err)
	}
	started, err := bootApplied(ctx, r)
	if err != nil {
		errs = append(errs, err)
	}
	recs, err := r.Containers(true)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	for _, rec := range recs {
		if rec.State != container.StateExited || !rec.Policy().StartsAtBoot(rec.StoppedByUser && !rec.StoppedForShutdown) {
			continue
		}
		fault.Point("boot/before-start")
		s, err := r.Start(ctx, rec.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("start %s: %w", rec.Name, err))
			continue
		}
		started = append(started, s)
	}
	return started, errors.Join(errs...)
}

// bootApplied brings the applied sets back first, each in its
// depends_on order: a service starts once the services it depends on run
// (or are healthy, where the file asks). Its services start whatever
// their restart policy, unless the user stopped them.
func bootApplied(ctx context.Context, r *container.Runtime) ([]*container.Record, error) {
	sets, err := r.AppliedSets()
	if err != nil {
		return nil, err
	}
	var started []*container.Record
	var errs []error
	for _, set := range sets {
		for _, svc := range set.Services {
			rec, err := r.Inspect(svc.Name)
			if err != nil || rec.State != container.StateExited || rec.StoppedByUser && !rec.StoppedForShutdown {
				continue
			}
			for _, d := range svc.DependsOn {
				if err := r.WaitReady(ctx, d.Service, d.Healthy, container.DefaultUpdateTimeout); err != nil {
					errs = append(errs, fmt.Errorf("%s: depends on %s: %w", svc.Name, d.Service, err))
				}
			}
			s, err := r.Start(ctx, rec.ID)
			if err != nil {
				errs = append(errs, fmt.Errorf("start %s: %w", svc.Name, err))
				continue
			}
			started = append(started, s)
		}
	}
	return started, errors.Join(errs...)
}

// Shutdown is `edgerun boot --shutdown`, run by the init system before the
// device stops: it stops every running container (stop signal, then
// SIGKILL after timeout) so that they end cleanly, without counting as a
// stop by the user, so the next Boot starts them again.
func Shutdown(ctx context.Context, r *container.Runtime, timeout time.Duration) ([]*container.Record, error) {
	recs, err := r.Containers(false)
	if err != nil {
		return nil, err
	}
	type result struct {
		rec *container.Record
		err error
	}
	ch := make(chan result, len(recs))
	for _, rec := range recs {
		go func() {
			s, err := r.StopForShutdown(ctx, rec.ID, timeout)
			ch <- result{s, err}
		}()
	}
	var stopped []*container.Record
	var errs []error
	for range recs {
		res := <-ch
		if res.err != nil {
			errs = append(errs, res.err)
		} else if res.rec != nil {
			stopped = append(stopped, res.rec)
		}
	}
	return stopped, errors.Join(errs...)
}
