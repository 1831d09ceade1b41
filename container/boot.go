package container

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Boot is `edgerun boot`, run once by the init system after the device
// starts: opening the runtime already cleared the volatile state of the
// previous boot and recorded its containers as exited; Boot then starts
// every container whose restart policy is `always`, or `unless-stopped`
// and not stopped by the user (a stop by `boot --shutdown` does not
// count). It returns the containers started.
func (r *Runtime) Boot(ctx context.Context) ([]*Record, error) {
	recs, err := r.Containers(true)
	if err != nil {
		return nil, err
	}
	var started []*Record
	var errs []error
	for _, rec := range recs {
		if rec.State != StateExited || !rec.policy().StartsAtBoot(rec.StoppedByUser && !rec.StoppedForShutdown) {
			continue
		}
		s, err := r.Start(ctx, rec.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("start %s: %w", rec.Name, err))
			continue
		}
		started = append(started, s)
	}
	return started, errors.Join(errs...)
}

// Shutdown is `edgerun boot --shutdown`, run by the init system before the
// device stops: it stops every running container (stop signal, then
// SIGKILL after timeout) so that they end cleanly, without counting as a
// stop by the user, so the next Boot starts them again.
func (r *Runtime) Shutdown(ctx context.Context, timeout time.Duration) ([]*Record, error) {
	recs, err := r.Containers(false)
	if err != nil {
		return nil, err
	}
	type result struct {
		rec *Record
		err error
	}
	ch := make(chan result, len(recs))
	for _, rec := range recs {
		go func() {
			s, err := r.stop(ctx, rec.ID, timeout, true)
			ch <- result{s, err}
		}()
	}
	var stopped []*Record
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

// Prune removes every stopped container and returns their records.
func (r *Runtime) Prune(ctx context.Context) ([]*Record, error) {
	recs, err := r.Containers(true)
	if err != nil {
		return nil, err
	}
	var removed []*Record
	var errs []error
	for _, rec := range recs {
		if rec.State != StateExited && rec.State != StateCreated {
			continue
		}
		if rec.State == StateCreated && (r.owned(rec) || r.lockHeld(rec.ID)) {
			continue // being started right now
		}
		got, err := r.RemoveContainer(ctx, rec.ID, false)
		if err != nil {
			if !errors.Is(err, ErrContainerRunning) && !errors.Is(err, ErrNoSuchContainer) {
				errs = append(errs, err)
			}
			continue
		}
		removed = append(removed, got)
	}
	return removed, errors.Join(errs...)
}
