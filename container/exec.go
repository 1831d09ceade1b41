package container

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/edgerun/edgerun/specgen"
)

// ExecOptions are the inputs of `edgerun exec`.
type ExecOptions struct {
	Args        []string
	Env         []string // -e KEY=VALUE, added to the container's
	User        string   // -u NAME|UID[:GROUP|GID]; default the container's user
	Workdir     string   // -w; default the container's working directory
	TTY         bool     // -t
	Interactive bool     // -i
	// Detach (-d) starts the command and returns: its output is dropped,
	// and the container's init reaps it.
	Detach bool
	// Privileged (--privileged) gives the command every capability the
	// host allows, whatever the container's.
	Privileged bool
	Stdin      io.Reader
	Stdout     io.Writer
	Stderr     io.Writer
}

// Exec runs a command in a running container: it joins the container's
// namespaces and cgroup with the container's capabilities, seccomp
// profile and limits, passes stdio through (a pty with TTY), forwards
// signals, and returns the command's exit code (128+N when killed by
// signal N). A command that does not exist fails with 127, one that cannot
// be executed with 126 (*ExitError); a container that is not running is an
// error with ErrNotRunning.
func (r *Runtime) Exec(ctx context.Context, ref string, opts ExecOptions) (int, error) {
	if len(opts.Args) == 0 {
		return 0, fmt.Errorf("%w: exec needs a command", specgen.ErrInvalidOption)
	}
	rec, err := r.lookup(ref)
	if err != nil {
		return 0, err
	}
	r.refresh(rec)
	lc := r.loadLibcontainer(rec.ID)
	if rec.State != StateRunning || lc == nil {
		return 0, fmt.Errorf("%w: container %s is %s: start it first (edgerun start %s)", ErrNotRunning, rec.Name, rec.State, rec.Name)
	}
	spec, err := r.loadSpec(rec.ID)
	if err != nil {
		return 0, err
	}
	if r.paused(rec.ID) {
		return 0, fmt.Errorf("%w: container %s is paused: unpause it first (edgerun unpause %s)", ErrPaused, rec.Name, rec.Name)
	}
	if opts.Detach && (opts.TTY || opts.Interactive) {
		return 0, fmt.Errorf("%w: exec -d runs the command without a terminal or input: leave out -i and -t", specgen.ErrInvalidOption)
	}
	rootfs := filepath.Join(r.containerDir(rec.ID), "rootfs")
	eo := specgen.ExecOptions{
		Args: opts.Args, Env: opts.Env, User: opts.User, Workdir: opts.Workdir, TTY: opts.TTY, Privileged: opts.Privileged,
		KeepGroups: specgen.HasOwnUserNamespace(spec),
	}
	if opts.Privileged {
		if eo.HostCaps, err = specgen.HostCapabilities(); err != nil {
			return 0, err
		}
	}
	sp, err := specgen.ExecProcess(spec.Process, rootfs, eo)
	if err != nil {
		return 0, err
	}
	if err := specgen.CheckWorkdir(rootfs, spec.Mounts, sp.Cwd); err != nil {
		return 0, err
	}
	if err := specgen.CheckCommand(rootfs, spec.Mounts, sp.Args, sp.Env, sp.Cwd); err != nil {
		err = commandError(err)
		return exitCodeOf(err), err
	}
	proc, err := newProcess(sp)
	if err != nil {
		return 0, &ExitError{ExitRuntimeFailed, err}
	}
	proc.Init = false
	ev := r.execEvents(rec, opts.Args)
	if opts.Detach {
		if err := lc.Run(proc); err != nil {
			err = execError(err)
			return exitCodeOf(err), err
		}
		ev.started()
		return 0, nil
	}
	ro := &RunOptions{Interactive: opts.Interactive, Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr}
	stdio, err := attachIO(proc, ro, opts.TTY)
	if err != nil {
		return 0, &ExitError{ExitRuntimeFailed, err}
	}
	defer stdio.close()
	defer forwardSignals(proc, stdio)()
	if err := lc.Run(proc); err != nil {
		err = execError(err)
		return exitCodeOf(err), err
	}
	ev.started()
	if err := stdio.started(); err != nil {
		_ = proc.Signal(os.Kill)
	}
	ps, werr := proc.Wait()
	stdio.wait()
	if ps == nil {
		ev.died(ExitRuntimeFailed)
		return ExitRuntimeFailed, &ExitError{ExitRuntimeFailed, fmt.Errorf("wait for the exec'd command: %w", werr)}
	}
	ev.died(waitCode(ps))
	return waitCode(ps), nil
}

// loadSpec reads the container's generated spec.
func (r *Runtime) loadSpec(id string) (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(r.containerDir(id), "config.json"))
	if err != nil {
		return nil, fmt.Errorf("read the container's spec: %w", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("container spec %s is corrupt: %w", id, err)
	}
	return &spec, nil
}
