package container

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/health"
	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/rootless"
	"github.com/edgerun/edgerun/specgen"
)

// HealthCommand is the hidden first argument a monitor runs the binary
// with for one probe of a container's health check:
//
//	edgerun-probe __health ROOT STATE ID
//
// The probe's exit code tells the monitor the status it left: 0 healthy,
// 1 unhealthy, 3 starting, 2 the probe itself failed.
const HealthCommand = "__health"

// Exit codes of a probe process.
const (
	probeHealthy   = 0
	probeUnhealthy = 1
	probeFailed    = 2
	probeStarting  = 3
)

// ErrNoHealthCheck: the container was run without a health check.
var ErrNoHealthCheck = errors.New("container has no health check")

// A container's health state is volatile (the state root): it is rewritten
// by every probe, which on a gateway's flash would be wear for nothing,
// and a reboot starts every container over as "starting" anyway.
func (r *Runtime) healthPath(id string) string {
	return filepath.Join(r.cfg.State, "health", id+".json")
}

// Health returns the container's health state, nil when it has no health
// check or has not started since the state root was made.
func (r *Runtime) Health(rec *Record) *health.State {
	if rec.HealthCheck == nil {
		return nil
	}
	return r.loadHealth(rec.ID)
}

func (r *Runtime) loadHealth(id string) *health.State {
	b, err := os.ReadFile(r.healthPath(id))
	if err != nil {
		return nil
	}
	var st health.State
	if json.Unmarshal(b, &st) != nil {
		return nil
	}
	return &st
}

func (r *Runtime) saveHealth(id string, st *health.State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.healthPath(id)), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFileVolatile(r.healthPath(id), b, 0o600)
}

// resetHealth starts a container's health over (it is starting again);
// the container lock is held.
func (r *Runtime) resetHealth(rec *Record) {
	if rec.HealthCheck != nil {
		_ = r.saveHealth(rec.ID, health.New(r.loadHealth(rec.ID)))
	}
}

// removeHealth deletes a container's health state and the temp file of a
// probe killed while it wrote it (the container exited under it).
func (r *Runtime) removeHealth(id string) error {
	err := os.Remove(r.healthPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return errors.Join(err, atomicfile.RemoveStale(filepath.Dir(r.healthPath(id)), id+".json"))
}

// Probe runs the container's health check once (`edgerun healthcheck
// run`, and every probe of a monitor): it records the result and, when the
// container is left unhealthy, applies its --health-on-failure action.
func (r *Runtime) Probe(ctx context.Context, ref string) (*health.State, error) {
	rec, err := r.lookup(ref)
	if err != nil {
		return nil, err
	}
	r.refresh(rec)
	return r.probe(ctx, rec)
}

func (r *Runtime) probe(ctx context.Context, rec *Record) (*health.State, error) {
	cfg := rec.HealthCheck
	if cfg == nil {
		return nil, fmt.Errorf("%w: %s: run it with --health-cmd, or use an image with a HEALTHCHECK", ErrNoHealthCheck, rec.Name)
	}
	if rec.State != StateRunning {
		return nil, fmt.Errorf("%w: container %s is %s", ErrNotRunning, rec.Name, rec.State)
	}
	// A paused container is not probed, and a probe it was paused during
	// does not count, as in docker.
	if r.paused(rec.ID) {
		return nil, fmt.Errorf("%w: container %s: not probed", ErrPaused, rec.Name)
	}
	res := r.runProbe(ctx, rec, cfg)
	if res.ExitCode != 0 && !r.initRuns(rec.ID, true) {
		// The container is ending (stop's signal reached it before its
		// monitor recorded the exit): the kernel kills a probe in it as
		// its init exits, or the probe cannot enter it. That is no
		// failure of its health, as in docker.
		return nil, fmt.Errorf("%w: container %s ended while it was probed", ErrNotRunning, rec.Name)
	}
	if r.paused(rec.ID) {
		return nil, fmt.Errorf("%w: container %s: the probe does not count", ErrPaused, rec.Name)
	}
	lock, err := r.lockContainer(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	cur, err := r.loadRecord(rec.ID)
	if err != nil || cur.State != StateRunning || !cur.StartedAt.Equal(rec.StartedAt) {
		// Ended or restarted while probed: the result is of a run gone.
		r.unlock(lock, rec.ID)
		return nil, fmt.Errorf("%w: container %s ended while it was probed", ErrNotRunning, rec.Name)
	}
	st := r.loadHealth(rec.ID)
	if st == nil {
		st = health.New(nil)
	}
	was := st.Status
	st.Record(res, cfg, cur.StartedAt)
	err = r.saveHealth(rec.ID, st)
	if err == nil && st.Status != was && st.Status != health.Starting {
		r.event(cur, events.WithDetail(events.ActionHealthStatus, st.Status), nil)
	}
	restart := st.Status == health.Unhealthy && cfg.OnFailure == health.ActionRestart
	if restart && err == nil {
		cur.HealthRestart = true
		err = r.saveRecord(cur)
	}
	r.unlock(lock, rec.ID)
	if err != nil {
		return nil, err
	}
	if st.Status == health.Unhealthy {
		r.onUnhealthy(ctx, cur, cfg.OnFailure)
	}
	return st, nil
}

// onUnhealthy applies --health-on-failure: kill ends the container and
// leaves it to its restart policy; restart stops it and has its monitor
// start it again whatever the policy (the record says so, see probe); stop
// stops it as `edgerun stop` does.
func (r *Runtime) onUnhealthy(ctx context.Context, rec *Record, action string) {
	switch action {
	case health.ActionKill:
		r.signalEvent(rec, unix.SIGKILL)
	case health.ActionRestart:
		r.signalEvent(rec, r.stopSignal(rec.ID))
		if !r.waitStopped(ctx, rec, rec.stopWait()) {
			r.signalEvent(rec, unix.SIGKILL)
		}
	case health.ActionStop:
		_, _ = r.Stop(ctx, rec.ID, -1)
	}
}

// runProbe runs the check's command in the container, as exec would with
// no options, its output captured and bounded, killed at the timeout.
func (r *Runtime) runProbe(ctx context.Context, rec *Record, cfg *health.Config) health.Result {
	start := time.Now()
	fail := func(code int, err error) health.Result {
		return health.Result{Start: start, End: time.Now(), ExitCode: code, Output: err.Error()}
	}
	lc := r.loadLibcontainer(rec.ID)
	if lc == nil {
		return fail(ExitRuntimeFailed, fmt.Errorf("container %s has no runtime state", rec.Name))
	}
	spec, err := r.loadSpec(rec.ID)
	if err != nil {
		return fail(ExitRuntimeFailed, err)
	}
	rootfs := filepath.Join(r.containerDir(rec.ID), "rootfs")
	sp, err := specgen.ExecProcess(spec.Process, rootfs, specgen.ExecOptions{Args: cfg.Args()})
	if err != nil {
		return fail(ExitRuntimeFailed, err)
	}
	if err := specgen.CheckCommand(rootfs, spec.Mounts, sp.Args, sp.Env, sp.Cwd); err != nil {
		err = commandError(err)
		return fail(exitCodeOf(err), err)
	}
	proc, err := newProcess(sp)
	if err != nil {
		return fail(ExitRuntimeFailed, err)
	}
	proc.Init = false
	pr, pw, err := os.Pipe()
	if err != nil {
		return fail(ExitRuntimeFailed, err)
	}
	defer pr.Close()
	proc.Stdout, proc.Stderr = pw, pw
	out := &boundedBuffer{max: health.OutputMax}
	copied := make(chan struct{})
	go func() { _, _ = io.Copy(out, pr); close(copied) }()
	err = lc.Run(proc)
	pw.Close()
	if err != nil {
		err = execError(err)
		return fail(exitCodeOf(err), err)
	}
	timer := time.AfterFunc(cfg.Timeout, func() { _ = proc.Signal(unix.SIGKILL) })
	ps, _ := proc.Wait()
	timedOut := !timer.Stop()
	select { // a background process of the check may hold the pipe
	case <-copied:
	case <-time.After(time.Second):
	case <-ctx.Done():
	}
	end := time.Now()
	if timedOut {
		return health.TimeoutResult(start, end, cfg.Timeout)
	}
	code := ExitRuntimeFailed
	if ps != nil {
		code = waitCode(ps)
	}
	return health.Result{Start: start, End: end, ExitCode: code, Output: out.String()}
}

// boundedBuffer keeps the first max bytes written to it and drops the
// rest, so a chatty check cannot grow a probe.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ProbeMain is a probe process run by a monitor (see HealthCommand): args
// are the persistent root, the volatile root and the container ID. It
// returns the exit code the monitor reads.
func ProbeMain(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "edgerun: probes are run by a container's monitor, not by hand: use edgerun healthcheck run")
		return probeFailed
	}
	r := &Runtime{cfg: Config{Root: args[0], State: args[1], BootIDFile: os.Getenv(BootIDFileEnv), Rootless: rootless.Inside(),
		Events: events.Open(args[0], events.Options{})}}
	rec, err := r.loadRecord(args[2])
	if err != nil {
		return probeFailed
	}
	st, err := r.probe(context.Background(), rec)
	if err != nil {
		return probeFailed
	}
	return probeCode(st.Status)
}

func probeCode(status string) int {
	switch status {
	case health.Healthy:
		return probeHealthy
	case health.Starting:
		return probeStarting
	}
	return probeUnhealthy
}

// probeLoop probes a container's health from this Go process until the
// returned function is called: the foreground edgerun of `run`, or a
// monitor that did not become the C one (package relay probes on its
// own). Each probe is a process of its own, as the C monitor runs them.
func (r *Runtime) probeLoop(id string, cfg *health.Config, started time.Time) (stop func()) {
	if cfg == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		status := health.Starting
		for {
			t := time.NewTimer(cfg.Next(status, time.Since(started)))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if s := r.probeProcess(ctx, id, cfg); s != "" {
				status = s
			}
		}
	}()
	return func() { cancel(); <-done }
}

// probeProcess runs one probe process and returns the status it left ("" if
// it failed).
func (r *Runtime) probeProcess(ctx context.Context, id string, cfg *health.Config) string {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout+probeSlack)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/proc/self/exe", HealthCommand, r.cfg.Root, r.cfg.State, id)
	cmd.Args[0] = probeArgv0
	cmd.Env = append(os.Environ(), monitorEnv...)
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		return ""
	}
	switch code {
	case probeHealthy:
		return health.Healthy
	case probeUnhealthy:
		return health.Unhealthy
	case probeStarting:
		return health.Starting
	}
	return ""
}

// probeSlack is what a probe process gets beyond the check's timeout: its
// own start, and the container lock it records the result under (the C
// monitor's PROBE_SLACK_MS).
const probeSlack = 30 * time.Second
