package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/health"
	"github.com/edgerun/edgerun/images"
	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/ids"
	"github.com/edgerun/edgerun/internal/lockfile"
	"github.com/edgerun/edgerun/rootfs"
	"github.com/edgerun/edgerun/specgen"
)

// RunOptions are the inputs of `edgerun run`.
type RunOptions struct {
	Image    string
	Name     string
	Remove   bool   // --rm
	Platform string // --platform: the stored image must be for it
	Pull     string // --pull: missing (default), always, never
	PullWith images.PullOptions

	Interactive bool // -i: pass stdin
	// DetachOpts are -d's restart policy and log settings (RunDetached).
	DetachOpts DetachOptions
	// Init runs edgerun's own small init as PID 1 in front of the command
	// (--init): it forwards signals and reaps orphaned processes.
	Init bool
	// Health are the --health-* flags, merged with the image's
	// HEALTHCHECK.
	Health health.Flags
	// Labels are -l KEY=VALUE: metadata kept in the record (apply marks
	// the containers it owns with them).
	Labels map[string]string
	// StopTimeout is --stop-timeout: how long stop waits for the stop
	// signal before SIGKILL when not told (0: DefaultStopTimeout).
	StopTimeout time.Duration
	// CIDFile is --cidfile: a file, which must not exist, that gets the
	// container's ID once it is created (run, create).
	CIDFile string
	Spec    specgen.SpecOptions
	Limits  cgroups.Flags
	Resolv  ResolvFlags
	Net     NetOptions // --network, -p, -P, --ip

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Notice receives messages for the user (a fallback taken, a setting
	// changed); nil drops them.
	Notice func(string)
}

// ResolvFlags are the --dns, --dns-search, --dns-option and --add-host flags.
type ResolvFlags struct {
	DNS, Search, Options, AddHosts []string
}

// Run creates a container, runs it in the foreground with stdio passed
// through and signals forwarded, and returns its exit code (128+N when it
// was killed by signal N). Errors of edgerun itself are *ExitError with
// docker's codes 125, 126 and 127. With Remove, nothing of the container
// is left afterwards; without, it stays listed as exited.
func (r *Runtime) Run(ctx context.Context, opts RunOptions) (int, error) {
	c, err := r.create(ctx, &opts, false)
	if err != nil {
		return exitCodeOf(err), err
	}
	defer c.owner.Unlock()
	code, runErr := r.runForeground(ctx, c, &opts)
	if err := r.finish(ctx, c, code, runErr == nil, opts.Remove); err != nil && runErr == nil {
		runErr = &ExitError{ExitRuntimeFailed, err}
	}
	if runErr != nil {
		return exitCodeOf(runErr), runErr
	}
	return code, nil
}

func exitCodeOf(err error) int {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitRuntimeFailed
}

// created is a container made by create and not yet started.
type created struct {
	rec   *Record
	spec  *specs.Spec
	lc    *libcontainer.Container
	lock  *lockfile.Lock
	owner *lockfile.Lock // held while this process owns the container
	snap  *rootfs.Snapshot
}

// create validates everything it can before touching the system (plan),
// then makes the container: name claim, directory, layers, root file
// system, network, spec, record and libcontainer state. On any error it
// undoes all of it. opts is only read; detach says a monitor will own the
// container (RunDetached).
func (r *Runtime) create(ctx context.Context, opts *RunOptions, detach bool) (_ *created, retErr error) {
	fail := func(err error) error { return &ExitError{ExitRuntimeFailed, err} }
	p, err := r.plan(ctx, opts, detach)
	if err != nil {
		return nil, fail(err)
	}
	id, err := ids.New()
	if err != nil {
		return nil, fail(err)
	}
	name := opts.Name
	if name == "" {
		name = ids.DefaultName(opts.Image, id)
	}
	var undo []func()
	defer func() {
		if retErr != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	cid, err := createCIDFile(opts.CIDFile)
	if err != nil {
		return nil, fail(err)
	}
	if cid != nil {
		undo = append(undo, func() { cid.Close(); os.Remove(opts.CIDFile) })
	}
	lock, err := r.lockContainer(ctx, id)
	if err != nil {
		return nil, fail(err)
	}
	undo = append(undo, func() { r.unlock(lock, id) })
	owner, err := r.holdOwner(id)
	if err != nil {
		return nil, fail(err)
	}
	undo = append(undo, func() { owner.Unlock() })
	fault.Point("run/after-lock")
	if err := r.reserveName(name, id, !opts.Remove); err != nil {
		return nil, fail(err)
	}
	undo = append(undo, func() { _ = r.releaseName(name, id, false) })
	fault.Point("run/after-name")
	dir := r.containerDir(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fail(fmt.Errorf("create container directory: %w", err))
	}
	undo = append(undo, func() { _ = rootfs.Remove(dir); _ = os.RemoveAll(dir) })
	// A layer gone from the cache is unpacked again within run's limits
	// (--max-layer-ratio, --min-free), the ones its pull had.
	limits := rootfs.UnpackOptions{MaxRatio: opts.PullWith.MaxLayerRatio, MinFree: opts.PullWith.MinFree}
	layerDirs, err := p.store.Unpack(ctx, p.img, limits)
	if err != nil {
		return nil, fail(err)
	}
	if p.processLabel, p.mountLabel, err = r.selinuxLabels(opts.Spec.SecurityOpts, opts.Spec.Privileged); err != nil {
		return nil, fail(err)
	}
	snap, err := rootfs.Prepare(ctx, dir, layerDirs, rootfs.SnapshotOptions{Notice: opts.notice, MountLabel: p.mountLabel})
	if err != nil {
		return nil, fail(fmt.Errorf("prepare the root file system: %w", err))
	}
	fault.Point("run/after-rootfs")
	vols, err := r.resolveVolumes(ctx, p.volumes, snap.Rootfs)
	if err != nil {
		return nil, fail(err)
	}
	undo = append(undo, vols.release)
	net, undoNet, err := r.attachNetwork(ctx, id, p.net, opts.Remove)
	if err != nil {
		return nil, fail(err)
	}
	undo = append(undo, undoNet)
	fault.Point("run/after-network")
	spec, err := r.makeSpec(dir, opts, p, id, snap.Rootfs, net, vols)
	if err != nil {
		return nil, err
	}
	rec := &Record{
		ID: id, Name: name, Image: opts.Image, ImageDigest: p.img.Digest,
		Layers: p.img.Config.RootFS.DiffIDs, Created: time.Now().UTC(),
		Command: spec.Process.Args, AutoRemove: opts.Remove, Snapshot: snap.Mode,
		State: StateCreated, Network: net.rec, Volumes: vols.names, Lifecycle: p.life, Labels: opts.Labels,
		ProcessLabel: p.processLabel, MountLabel: p.mountLabel,
	}
	rec.StopTimeout = opts.StopTimeout
	if err := writeJSON(filepath.Join(dir, "config.json"), spec, !opts.Remove); err != nil {
		return nil, fail(err)
	}
	q := newRequest(opts)
	for _, a := range net.rec.Attachments() {
		if a.Network == "" { // the default bridge it got, whatever the flags of a later update
			q.Net.Bridge, q.Net.Subnet = a.Bridge, a.Subnet.String()
		}
	}
	if err := r.saveRequest(id, q, !opts.Remove); err != nil {
		return nil, fail(err)
	}
	if err := r.saveRecord(rec); err != nil {
		return nil, fail(err)
	}
	r.event(rec, "create", nil)
	undo = append(undo, func() { r.event(rec, "destroy", nil) })
	vols.release() // the record names the volumes now
	if cid != nil {
		_, werr := cid.WriteString(id)
		if err := errors.Join(werr, cid.Close()); err != nil {
			return nil, fail(fmt.Errorf("--cidfile %s: %w", opts.CIDFile, err))
		}
	}
	fault.Point("run/after-record")
	if detach {
		// A detached container's monitor creates the libcontainer state
		// itself (the init must be its child): here the spec is only
		// checked as libcontainer would, so that a bad one fails now.
		// Creating the state to destroy it again cost a cgroup manager
		// (a mountinfo read that grows with the containers' mounts) and a
		// sweep of every cgroup hierarchy.
		if err := r.checkLibcontainer(id, spec); err != nil {
			return nil, fail(err)
		}
		return &created{rec: rec, spec: spec, lock: lock, owner: owner, snap: snap}, nil
	}
	_ = r.refreshPeerHosts(net.rec.bridges(), "") // best effort: names, not addresses
	lc, err := r.createLibcontainer(id, spec)
	if err != nil {
		return nil, fail(err)
	}
	undo = append(undo, func() { _ = r.destroyLibcontainer(id) })
	fault.Point("run/after-libcontainer")
	return &created{rec: rec, spec: spec, lc: lc, lock: lock, owner: owner, snap: snap}, nil
}

func (o *RunOptions) notice(msg string) {
	if o.Notice != nil {
		o.Notice(msg)
	}
}

// runForeground starts the container with the caller's stdio and waits
// for it, forwarding signals. It returns the container's exit code.
func (r *Runtime) runForeground(ctx context.Context, c *created, opts *RunOptions) (int, error) {
	proc, err := newProcess(c.spec.Process)
	if err != nil {
		return 0, &ExitError{ExitRuntimeFailed, err}
	}
	io, err := attachIO(proc, opts, c.spec.Process.Terminal)
	if err != nil {
		return 0, &ExitError{ExitRuntimeFailed, err}
	}
	defer io.close()
	defer forwardSignals(proc, io)()
	// Start leaves the container's init waiting before it execs the
	// command: the record says "running" before the command can print
	// anything, so nobody who saw its output finds it "created".
	if err := c.lc.Start(proc); err != nil {
		return 0, startError(err)
	}
	fault.Point("run/after-start")
	if err := io.started(); err != nil {
		_ = proc.Signal(unix.SIGKILL)
	}
	pid, _ := proc.Pid()
	c.rec.State, c.rec.Pid, c.rec.StartedAt = StateRunning, pid, time.Now().UTC()
	c.rec.resetOOM()
	if err := r.saveRecord(c.rec); err != nil {
		_ = proc.Signal(unix.SIGKILL)
	} else {
		r.event(c.rec, "start", nil)
		if err := r.execStarted(c); err != nil {
			_ = proc.Signal(unix.SIGKILL)
			_, _ = proc.Wait()
			io.wait()
			return 0, startError(err)
		}
	}
	// Other commands (ps, inspect, rm -f) may act on the container while
	// it runs: hold the lock only around load → act → save.
	fault.Point("run/after-exec")
	c.lock.Unlock()
	c.lock = nil
	stopProbes := r.probeLoop(c.rec.ID, c.rec.HealthCheck, c.rec.StartedAt)
	stopOOM := r.oomLoop(c.rec.ID, nil)
	ps, werr := proc.Wait()
	stopOOM()
	stopProbes()
	io.wait()
	fault.Point("run/after-exit")
	if ps == nil {
		return 0, &ExitError{ExitRuntimeFailed, fmt.Errorf("wait for the container: %w", werr)}
	}
	return waitCode(ps), nil
}

// execStarted lets the started container's init exec its command, its
// health starting over first.
func (r *Runtime) execStarted(c *created) error {
	r.resetHealth(c.rec)
	return c.lc.Exec()
}

// startError maps libcontainer's start failures to docker's exit codes.
func startError(err error) error { return launchError("start container", err) }

// execError is startError for a process started in a running container
// (exec, a health check).
func execError(err error) error { return launchError("exec in the container", err) }

func launchError(doing string, err error) error {
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, unix.ENOENT), initExecCode(err) == ExitCommandNotFound:
		return &ExitError{ExitCommandNotFound, fmt.Errorf("%s: %w", doing, err)}
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.ENOEXEC), errors.Is(err, unix.EPERM), initExecCode(err) == ExitCannotInvoke:
		return &ExitError{ExitCannotInvoke, fmt.Errorf("%s: %w", doing, err)}
	}
	return &ExitError{ExitRuntimeFailed, fmt.Errorf("%s: %w", doing, err)}
}

// waitCode is the shell's convention: the exit status, or 128+N when the
// process was killed by signal N.
func waitCode(ps *os.ProcessState) int {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return ps.ExitCode()
	}
	return statusCode(ws)
}

// statusCode is waitCode for a raw wait status.
func statusCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// finish records how the container ended and tears down what a stopped
// container does not need: its processes, cgroup and libcontainer state,
// and (with remove) everything else.
func (r *Runtime) finish(ctx context.Context, c *created, code int, started, remove bool) error {
	if c.lock == nil {
		lock, err := r.lockContainer(context.WithoutCancel(ctx), c.rec.ID)
		if err != nil {
			return err
		}
		c.lock = lock
		cur, err := r.loadRecord(c.rec.ID)
		if err != nil {
			// Removed while it ran (rm -f): nothing is left to record.
			r.unlock(c.lock, c.rec.ID)
			return nil
		}
		// What the OOM watch recorded meanwhile (oomLoop).
		c.rec.OOMKills, c.rec.LastOOM, c.rec.OOMChildKills = cur.OOMKills, cur.LastOOM, cur.OOMChildKills
	}
	defer r.unlock(c.lock, c.rec.ID)
	var paths map[string]string
	if st, err := c.lc.State(); err == nil {
		paths = st.CgroupPaths
	}
	r.endOOM(c.rec, paths, code)
	errs := []error{r.destroyLibcontainer(c.rec.ID)}
	c.rec.State, c.rec.Pid, c.rec.FinishedAt = StateExited, 0, time.Now().UTC()
	c.rec.ExitCode, c.rec.Paused = code, false
	if !started {
		c.rec.ExitCode = ExitRuntimeFailed
	}
	if remove {
		r.saveLastExit(c.rec) // for edgerun wait
		r.died(c.rec)
		errs = append(errs, r.removeFiles(c.rec))
		return errors.Join(errs...)
	}
	errs = append(errs, c.snap.Unmount())
	errs = append(errs, r.saveRecord(c.rec))
	r.died(c.rec)
	return errors.Join(errs...)
}

// removeFiles removes the container's root file system, directory and
// name claim; the record goes first so a crash midway leaves garbage
// that cleanup recognises, never a record without its files.
func (r *Runtime) removeFiles(rec *Record) error {
	dir := r.containerDir(rec.ID)
	errs := []error{r.detachNetwork(rec)}
	fault.Point("remove/after-network")
	rmErr := os.Remove(filepath.Join(dir, recordFile))
	if rmErr == nil {
		r.event(rec, "destroy", nil)
	}
	errs = append(errs, rmErr)
	fault.Point("remove/after-record")
	errs = append(errs, rootfs.Remove(dir), os.RemoveAll(dir), r.releaseName(rec.Name, rec.ID, !rec.AutoRemove), r.removeHealth(rec.ID),
		os.Remove(r.stdinPath(rec.ID)))
	for i, e := range errs {
		if errors.Is(e, os.ErrNotExist) {
			errs[i] = nil
		}
	}
	return errors.Join(errs...)
}

// writeJSON writes v atomically; durable (fsynced) unless the file cannot
// outlive this container (--rm), see atomicfile.WriteFileVolatile.
func writeJSON(path string, v any, durable bool) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if !durable {
		return atomicfile.WriteFileVolatile(path, b, 0o600)
	}
	return atomicfile.WriteFile(path, b, 0o600)
}
