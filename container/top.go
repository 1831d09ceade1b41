package container

import (
	"context"
	"errors"
	"fmt"
	"os/exec"

	"github.com/edgerun/edgerun/internal/proctable"
)

// Top lists the processes of a running container by their host PIDs (its
// cgroup's), as docker top: without psArgs the columns of `ps -ef`, read
// from /proc (edgerun does not need procps); with psArgs the host's ps is
// run with them and its lines are filtered to the container's PIDs.
func (r *Runtime) Top(ctx context.Context, ref string, psArgs []string) ([]string, [][]string, error) {
	rec, err := r.Inspect(ref)
	if err != nil {
		return nil, nil, err
	}
	c := r.loadLibcontainer(rec.ID)
	if rec.State != StateRunning || c == nil {
		return nil, nil, fmt.Errorf("%w: container %s is %s", ErrNotRunning, rec.Name, rec.State)
	}
	var pids []int
	if r.cgroupless() != nil {
		// No cgroup of its own (rootless without delegation): its
		// processes are those of its PID namespace.
		if st, serr := c.State(); serr == nil && st.InitProcessPid > 0 {
			pids = pidNamespaceMembers(st.InitProcessPid)
		}
	} else if pids, err = c.Processes(); err != nil {
		return nil, nil, fmt.Errorf("list the processes of container %s: %w", rec.Name, err)
	}
	if len(psArgs) == 0 {
		src, err := proctable.Host()
		if err != nil {
			return nil, nil, fmt.Errorf("read the host's process table: %w", err)
		}
		return proctable.Header, src.Rows(pids), nil
	}
	ps, err := exec.LookPath("ps")
	if err != nil {
		return nil, nil, fmt.Errorf("%w: top with ps options runs the host's ps, and there is none: install procps, or run top without options", ErrNoPS)
	}
	out, err := exec.CommandContext(ctx, ps, psArgs...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return nil, nil, fmt.Errorf("ps %q: %s", psArgs, ee.Stderr)
		}
		return nil, nil, fmt.Errorf("ps %q: %w", psArgs, err)
	}
	h, rows, err := proctable.Filter(out, pids)
	if err != nil {
		return nil, nil, fmt.Errorf("ps %q: %w", psArgs, err)
	}
	return h, rows, nil
}

// ErrNoPS: top was given ps options and the host has no ps.
var ErrNoPS = errors.New("no ps on this host")
