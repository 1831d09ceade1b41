package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/oci"
	"github.com/edgerun/edgerun/specgen"
)

// Start runs the process of a created container (its startContainer
// hooks first, its poststart hooks after).
func (o *OCIRuntime) Start(id string) error {
	c, err := o.load(id)
	if err != nil {
		return err
	}
	st, err := c.Status()
	if err != nil {
		return err
	}
	switch st {
	case libcontainer.Created:
		if err := c.Exec(); err != nil {
			return fmt.Errorf("start container %s: %w", id, err)
		}
		o.runPoststart(c)
		return nil
	case libcontainer.Stopped:
		return fmt.Errorf("container %s has stopped: it cannot start again; delete it and create it anew", id)
	default:
		return fmt.Errorf("container %s is %s: only a created container starts", id, st)
	}
}

// Kill sends signal (a name such as TERM or SIGKILL, or a number) to the
// container's init, or with all to every process of the container. A
// container that is not running is an error, except with all.
func (o *OCIRuntime) Kill(id, signal string, all bool) error {
	sig, err := specgen.ParseSignal(signal)
	if err != nil {
		return err
	}
	c, err := o.load(id)
	if err != nil {
		return err
	}
	if !all {
		return notRunning(id, c.Signal(sig))
	}
	pids, err := c.Processes()
	if err != nil {
		// Nothing left to signal is what --all asked for.
		if st, serr := c.Status(); serr == nil && st == libcontainer.Stopped {
			return nil
		}
		return fmt.Errorf("list the processes of container %s: %w", id, err)
	}
	if sig == unix.SIGKILL {
		if paused, _ := c.Status(); paused == libcontainer.Paused {
			defer func() { _ = c.Resume() }() // a frozen process dies once thawed
		}
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal process %d of container %s: %w", pid, id, err)
		}
	}
	return nil
}

// Delete removes a stopped or created container: its cgroup, its state
// and, after its poststop hooks, its directory under the root. force
// kills a running or paused one first; it also succeeds when the
// container does not exist (what a cleanup after a failed create needs).
func (o *OCIRuntime) Delete(id string, force bool) error {
	if err := oci.CheckID(id); err != nil {
		return err
	}
	c, err := o.load(id)
	if err != nil {
		if !errors.Is(err, ErrNoContainer) {
			return err
		}
		// An interrupted create can leave a directory libcontainer does
		// not recognise as a container.
		dir := filepath.Join(o.cfg.Root, id)
		if _, serr := os.Lstat(dir); serr == nil {
			return os.RemoveAll(dir)
		}
		if force {
			return nil
		}
		return err
	}
	st, err := c.Status()
	if err != nil {
		return err
	}
	switch st {
	case libcontainer.Stopped, libcontainer.Created:
	default:
		if !force {
			return fmt.Errorf("container %s is %s: stop it first, or delete it with --force", id, st)
		}
	}
	if err := killAndDestroy(c, o.rootlessCgroups); err != nil {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	return nil
}

// Pause freezes every process of the container (its freezer cgroup).
func (o *OCIRuntime) Pause(id string) error {
	c, err := o.load(id)
	if err != nil {
		return err
	}
	return freeze(c, id)
}

// Resume thaws a paused container.
func (o *OCIRuntime) Resume(id string) error {
	c, err := o.load(id)
	if err != nil {
		return err
	}
	return thaw(c, id)
}

// Processes are the PIDs (in the runtime's PID namespace) of the
// container's processes.
func (o *OCIRuntime) Processes(id string) ([]int, error) {
	c, err := o.load(id)
	if err != nil {
		return nil, err
	}
	pids, err := c.Processes()
	if err != nil {
		return nil, fmt.Errorf("list the processes of container %s: %w", id, err)
	}
	if pids == nil {
		pids = []int{}
	}
	return pids, nil
}
