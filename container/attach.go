package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/logfile"
)

// AttachOptions are the inputs of `edgerun attach`.
type AttachOptions struct {
	// Stdin, when not nil, is copied to the container's stdin: only a
	// container run with -i (and without -t) has one to attach to; one
	// without -i ignores it, as in docker.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Since (start -a) attaches to the run that started at or after it:
	// its output from then on, and its exit even if it came already.
	Since time.Time
}

// stdinPath is the FIFO a detached -i container reads its stdin from
// (volatile: it lives as long as the container's monitor).
func (r *Runtime) stdinPath(id string) string {
	return filepath.Join(r.cfg.State, "stdin", id)
}

// Attach attaches to a running detached container: its output from now
// on (its log followed, like logs -f --tail 0), and with opts.Stdin its
// input. It returns when the container exits, with its exit code (the
// first exit of a container its policy restarts, as wait). Ending the
// input does not end the container's: its monitor keeps the FIFO open.
func (r *Runtime) Attach(ctx context.Context, ref string, opts AttachOptions) (int, error) {
	rec, err := r.Inspect(ref)
	if err != nil {
		return 0, err
	}
	if rec.State != StateRunning && opts.Since.IsZero() {
		return 0, fmt.Errorf("%w: container %s is %s: start it first (edgerun start %s)", ErrNotRunning, rec.Name, rec.State, rec.Name)
	}
	if !rec.Detached {
		return 0, fmt.Errorf("%w: %s runs in the foreground: its output goes to the terminal of its run", ErrNoLogs, rec.Name)
	}
	var in *os.File
	if opts.Stdin != nil && rec.State == StateRunning {
		if in, err = r.openStdin(rec); err != nil {
			return 0, err
		}
		if in != nil {
			defer in.Close()
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type waited struct {
		code int
		err  error
	}
	exited := make(chan waited, 1)
	var done atomic.Bool
	go func() {
		var code int
		var err error
		if opts.Since.IsZero() {
			code, err = r.Wait(wctx, rec.ID, WaitNextExit)
		} else {
			code, err = r.waitAfter(wctx, rec.ID, opts.Since)
		}
		done.Store(true)
		exited <- waited{code, err}
	}()
	if in != nil {
		go func() { _, _ = io.Copy(in, opts.Stdin) }()
	}
	po := logfile.PrintOptions{
		Follow: true, Tail: 0, Stdout: opts.Stdout, Stderr: opts.Stderr,
		Writing: func() bool { return !done.Load() },
	}
	if !opts.Since.IsZero() {
		po.Tail, po.Since = -1, opts.Since
	}
	err = logfile.Print(ctx, r.logPath(rec.ID), rec.LogMaxFile, po)
	if err != nil {
		return 0, err
	}
	select {
	case w := <-exited:
		return w.code, w.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// openStdin opens the write end of a detached container's stdin FIFO.
func (r *Runtime) openStdin(rec *Record) (*os.File, error) {
	if !rec.OpenStdin {
		return nil, nil // as docker: a container without -i takes no input
	}
	spec, err := r.loadSpec(rec.ID)
	if err == nil && spec.Process != nil && spec.Process.Terminal {
		return nil, fmt.Errorf("%w: container %s runs with a terminal (-t), whose input edgerun does not relay: attach with --no-stdin", ErrNoStdin, rec.Name)
	}
	// Non-blocking: with no reader (between runs) open fails at once
	// instead of hanging; writes still block, through Go's poller.
	f, err := os.OpenFile(r.stdinPath(rec.ID), os.O_WRONLY|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.ENXIO) {
		return nil, fmt.Errorf("%w: container %s is between runs: attach again once it runs", ErrNoStdin, rec.Name)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: container %s was started by an older edgerun, without an input to attach to: restart it, or attach with --no-stdin", ErrNoStdin, rec.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("open the input of container %s: %w", rec.Name, err)
	}
	return f, nil
}

// ErrNoStdin: attach was asked for the input of a container that has none.
var ErrNoStdin = errors.New("container has no input to attach to")
