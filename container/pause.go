package container

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/edgerun/edgerun/specgen"
)

// ErrPaused: the operation cannot act on a paused container.
var ErrPaused = errors.New("container is paused")

// Pause freezes every process of a running container (its freezer
// cgroup), as docker pause. Pausing a paused container is an error, as
// in docker.
func (r *Runtime) Pause(ctx context.Context, ref string) (*Record, error) {
	return r.setPaused(ctx, ref, true)
}

// Unpause thaws a paused container.
func (r *Runtime) Unpause(ctx context.Context, ref string) (*Record, error) {
	return r.setPaused(ctx, ref, false)
}

func (r *Runtime) setPaused(ctx context.Context, ref string, pause bool) (*Record, error) {
	rec, lock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer r.unlock(lock, rec.ID)
	c := r.loadLibcontainer(rec.ID)
	if rec.State != StateRunning || c == nil {
		return nil, fmt.Errorf("%w: container %s is %s", ErrNotRunning, rec.Name, rec.State)
	}
	if why := r.cgroupless(); why != nil {
		return nil, fmt.Errorf("%w: pause freezes the container's cgroup, and rootless containers get none here: %w", specgen.ErrInvalidOption, why)
	}
	if pause {
		err = freeze(c, rec.Name)
	} else {
		err = thaw(c, rec.Name)
	}
	if err != nil {
		return nil, err
	}
	rec.Paused = pause
	if err := r.saveRecord(rec); err != nil {
		return rec, err
	}
	if pause {
		r.event(rec, "pause", nil)
	} else {
		r.event(rec, "unpause", nil)
	}
	return rec, nil
}

// freeze pauses a libcontainer container: the core of both faces (pause,
// and the OCI runtime's pause).
func freeze(c *libcontainer.Container, name string) error {
	if st, err := c.Status(); err == nil && st == libcontainer.Paused {
		return fmt.Errorf("%w: %s, already", ErrPaused, name)
	}
	if err := c.Pause(); err != nil {
		return fmt.Errorf("pause container %s: %w", name, notRunning(name, err))
	}
	return nil
}

// thaw resumes a paused libcontainer container (unpause, the OCI
// runtime's resume).
func thaw(c *libcontainer.Container, name string) error {
	if err := c.Resume(); err != nil {
		if errors.Is(err, libcontainer.ErrNotPaused) {
			return fmt.Errorf("container %s is not paused", name)
		}
		return fmt.Errorf("resume container %s: %w", name, err)
	}
	return nil
}

// paused is the kernel's answer: the container's freezer cgroup is frozen.
func (r *Runtime) paused(id string) bool {
	c := r.loadLibcontainer(id)
	if c == nil {
		return false
	}
	st, err := c.Status()
	return err == nil && st == libcontainer.Paused
}

// thawToEnd thaws a paused container that was just sent a terminating
// signal (stop, kill): a frozen process does not die until thawed, and
// docker ends a paused container on stop or kill. The record's Paused is
// cleared when the container's exit is recorded.
func (r *Runtime) thawToEnd(rec *Record) {
	if c := r.loadLibcontainer(rec.ID); c != nil {
		if st, err := c.Status(); err == nil && st == libcontainer.Paused {
			_ = c.Resume()
		}
	}
}
