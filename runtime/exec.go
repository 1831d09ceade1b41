package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ExecOptions are the inputs of `edgerun exec`.
type ExecOptions struct {
	Args        []string
	Env         []string // -e KEY=VALUE, added to the container's
	User        string   // -u NAME|UID[:GROUP|GID]; default the container's user
	Workdir     string   // -w; default the container's working directory
	TTY         bool     // -t
	Interactive bool     // -i
	Stdin       io.Reader
	Stdout      io.Writer
	Stderr      io.Writer
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
		return 0, fmt.Errorf("%w: exec needs a command", ErrInvalidOption)
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
	sp, err := r.execProcess(rec, spec.Process, &opts)
	if err != nil {
		return 0, err
	}
	if err := checkCommand(filepath.Join(r.containerDir(rec.ID), "rootfs"), spec.Mounts, sp.Args, sp.Env, sp.Cwd); err != nil {
		return exitCodeOf(err), err
	}
	proc, err := newProcess(sp)
	if err != nil {
		return 0, &ExitError{ExitRuntimeFailed, err}
	}
	proc.Init = false
	ro := &RunOptions{Interactive: opts.Interactive, Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr}
	stdio, err := attachIO(proc, ro, opts.TTY)
	if err != nil {
		return 0, &ExitError{ExitRuntimeFailed, err}
	}
	defer stdio.close()
	fwd := forwardSignals(proc, stdio)
	defer fwd.stop()
	if err := lc.Run(proc); err != nil {
		err = startError(err)
		return exitCodeOf(err), err
	}
	if err := stdio.started(); err != nil {
		_ = proc.Signal(os.Kill)
	}
	ps, werr := proc.Wait()
	stdio.wait()
	if ps == nil {
		return ExitRuntimeFailed, &ExitError{ExitRuntimeFailed, fmt.Errorf("wait for the exec'd command: %w", werr)}
	}
	return waitCode(ps), nil
}

// execProcess is the container's process spec with the exec's command,
// environment, user and working directory.
func (r *Runtime) execProcess(rec *Record, base *specs.Process, opts *ExecOptions) (*specs.Process, error) {
	p := *base
	p.Args, p.Terminal = opts.Args, opts.TTY
	p.Env = slices.Clone(base.Env)
	for _, kv := range opts.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			v, found := os.LookupEnv(kv)
			if !found {
				continue
			}
			kv = kv + "=" + v
		}
		p.Env = slices.DeleteFunc(p.Env, func(e string) bool { return strings.HasPrefix(e, k+"=") })
		p.Env = append(p.Env, kv)
	}
	if opts.Workdir != "" {
		if !filepath.IsAbs(opts.Workdir) {
			return nil, fmt.Errorf("%w: -w %s: the working directory must be an absolute path", ErrInvalidOption, opts.Workdir)
		}
		p.Cwd = opts.Workdir
	}
	if opts.User != "" {
		u, err := resolveUser(filepath.Join(r.containerDir(rec.ID), "rootfs"), opts.User, nil)
		if err != nil {
			return nil, err
		}
		p.User = specs.User{UID: u.UID, GID: u.GID, AdditionalGids: u.AdditionalGids}
	}
	return &p, nil
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
