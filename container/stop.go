package container

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/lockfile"
	"github.com/edgerun/edgerun/specgen"
)

// DefaultStopTimeout is how long stop waits after the stop signal before
// SIGKILL, as docker's.
const DefaultStopTimeout = 10 * time.Second

// killWait bounds the waits for a SIGKILL to end a container and for its
// end to be recorded. A kill lands at once on a healthy machine; a starved
// one (a TCG VM sharing two CPUs with eight others) has taken over ten
// seconds. Only a process stuck in the kernel outlives it.
const killWait = 60 * time.Second

// Stop stops a container: the image's StopSignal (default SIGTERM), then
// SIGKILL after timeout (negative: the container's --stop-timeout, else
// DefaultStopTimeout). The restart policy does not restart it (until
// start, or boot for `always`). Stopping a stopped container does nothing.
func (r *Runtime) Stop(ctx context.Context, ref string, timeout time.Duration) (*Record, error) {
	return r.stop(ctx, ref, timeout, 0, false)
}

// StopSignal is Stop with sig in place of the container's stop signal
// (docker's stop -s); 0 is the container's.
func (r *Runtime) StopSignal(ctx context.Context, ref string, timeout time.Duration, sig unix.Signal) (*Record, error) {
	return r.stop(ctx, ref, timeout, sig, false)
}

// StopForShutdown is Stop for a power-down (boot --shutdown): the stop
// does not count as the user's, so the next boot starts the container
// again by its restart policy.
func (r *Runtime) StopForShutdown(ctx context.Context, ref string, timeout time.Duration) (*Record, error) {
	return r.stop(ctx, ref, timeout, 0, true)
}

func (r *Runtime) stop(ctx context.Context, ref string, timeout time.Duration, sig unix.Signal, shutdown bool) (*Record, error) {
	rec, err := r.markStopped(ctx, ref, shutdown)
	if err != nil || rec == nil {
		return rec, err
	}
	if timeout < 0 {
		timeout = rec.stopWait()
	}
	fault.Point("stop/after-mark")
	if sig == 0 {
		sig = r.stopSignal(rec.ID)
	}
	if rec.State == StateRunning {
		r.signalEvent(rec, sig)
		r.thawToEnd(rec) // a paused container: its processes get the signal now
	}
	fault.Point("stop/after-signal")
	if !r.waitStopped(ctx, rec, timeout) {
		r.signalEvent(rec, unix.SIGKILL)
		r.thawToEnd(rec)
		r.waitStopped(ctx, rec, killWait)
	}
	rec, err = r.settle(ctx, rec.ID)
	if err == nil {
		r.event(rec, "stop", nil) // after its die: the exit is recorded
	}
	return rec, err
}

// markStopped records that the user stopped the container, and wakes its
// monitor if it waits to restart it. It returns nil for a container that
// is not running.
func (r *Runtime) markStopped(ctx context.Context, ref string, shutdown bool) (*Record, error) {
	rec, lock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer r.unlock(lock, rec.ID)
	if rec.State != StateRunning && rec.State != StateRestarting {
		return nil, nil
	}
	rec.StoppedByUser, rec.StoppedForShutdown = true, shutdown
	if err := r.saveRecord(rec); err != nil {
		return nil, err
	}
	if rec.State == StateRestarting && r.owned(rec) && monitorAlive(rec) {
		_ = unix.Kill(rec.MonitorPid, unix.SIGUSR1)
	}
	return rec, nil
}

// waitStopped waits until the container's processes are gone and its
// owner (monitor or foreground edgerun) has recorded it, at most d.
func (r *Runtime) waitStopped(ctx context.Context, rec *Record, d time.Duration) bool {
	return pollUntil(ctx, d, 50*time.Millisecond, func() bool {
		if c := r.loadLibcontainer(rec.ID); c != nil {
			if st, err := c.Status(); err == nil && st != libcontainer.Stopped {
				return false
			}
		}
		return !r.cgroupPopulated(rec.ID) && !r.owned(rec)
	})
}

// pollUntil calls done until it returns true (then true), or d has passed
// or ctx ended (then false), sleeping 2 ms, doubling up to maxDelay, between
// calls.
func pollUntil(ctx context.Context, d, maxDelay time.Duration, done func() bool) bool {
	deadline := time.Now().Add(d)
	delay := 2 * time.Millisecond
	for !done() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(delay)
		delay = min(delay*2, maxDelay)
	}
	return true
}

// settle returns the record once stopped; a container nobody owns (its
// foreground edgerun was killed) is reaped here.
func (r *Runtime) settle(ctx context.Context, id string) (*Record, error) {
	rec, err := r.loadRecord(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %s was removed meanwhile", ErrNoSuchContainer, id)
	}
	if rec.State == StateRunning || rec.State == StateRestarting {
		_ = r.reapLost(rec)
		if rec, err = r.loadRecord(id); err != nil {
			return nil, fmt.Errorf("%w: %s was removed meanwhile", ErrNoSuchContainer, id)
		}
	}
	return rec, nil
}

// stopSignal is the signal that stops container id (specgen.StopSignal).
func (r *Runtime) stopSignal(id string) unix.Signal {
	spec, err := r.loadSpec(id)
	if err != nil {
		return unix.SIGTERM
	}
	return specgen.StopSignal(spec)
}

// Kill sends a signal to the container's init. A terminating signal
// (KILL, TERM, INT, QUIT or the image's stop signal) counts as a user stop,
// as in docker: the restart policy does not restart the container.
func (r *Runtime) Kill(ctx context.Context, ref string, sig unix.Signal) (*Record, error) {
	rec, err := r.lookup(ref)
	if err != nil {
		return nil, err
	}
	r.refresh(rec)
	if rec.State != StateRunning {
		return nil, fmt.Errorf("%w: container %s is not running", ErrNotRunning, rec.Name)
	}
	ends := false
	switch sig {
	case unix.SIGKILL, unix.SIGTERM, unix.SIGINT, unix.SIGQUIT, r.stopSignal(rec.ID):
		if _, err := r.markStopped(ctx, rec.ID, false); err != nil {
			return nil, err
		}
		ends = true
	}
	if err := r.signalInit(rec, sig); err != nil {
		if errors.Is(err, ErrNotRunning) {
			return nil, fmt.Errorf("%w: container %s is not running", ErrNotRunning, rec.Name)
		}
		return nil, fmt.Errorf("send %v to container %s: %w", sig, rec.Name, err)
	}
	r.killed(rec, sig)
	if ends {
		r.thawToEnd(rec) // a paused container ends too, as in docker
	}
	return rec, nil
}

// Start starts a stopped container again, detached under a new monitor,
// with the same record, root file system changes and name. Starting a
// running container does nothing.
func (r *Runtime) Start(ctx context.Context, ref string) (*Record, error) {
	rec, lock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer r.unlock(lock, rec.ID)
	if rec.State == StateRunning || rec.State == StateRestarting {
		return rec, nil
	}
	rec.StoppedByUser, rec.StoppedForShutdown, rec.RestartCount, rec.MonitorLost, rec.HostRestarted = false, false, 0, false, false
	if err := r.startDetached(ctx, rec, lock); err != nil {
		return nil, err
	}
	return r.loadRecord(rec.ID)
}

// Restart stops a container (if it runs) and starts it again.
func (r *Runtime) Restart(ctx context.Context, ref string, timeout time.Duration, sig unix.Signal) (*Record, error) {
	if _, err := r.StopSignal(ctx, ref, timeout, sig); err != nil {
		return nil, err
	}
	rec, err := r.Start(ctx, ref)
	if err == nil {
		r.event(rec, "restart", nil)
	}
	return rec, err
}

// lockedRecord looks a container up, takes its lock and returns its
// current record (state refreshed); the caller unlocks.
func (r *Runtime) lockedRecord(ctx context.Context, ref string) (*Record, *lockfile.Lock, error) {
	rec, err := r.lookup(ref)
	if err != nil {
		return nil, nil, err
	}
	id := rec.ID
	lock, err := r.lockContainer(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if rec, err = r.loadRecord(id); err != nil {
		r.unlock(lock, id)
		return nil, nil, fmt.Errorf("%w: %s was removed meanwhile", ErrNoSuchContainer, ref)
	}
	r.refreshLocked(rec, true)
	return rec, lock, nil
}
