package container

import (
	"context"
	"errors"
	"fmt"
	"github.com/edgerun/edgerun/apparmor"
	"github.com/edgerun/edgerun/rootless"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/lockfile"
	"github.com/edgerun/edgerun/logfile"
	"github.com/edgerun/edgerun/restart"
	"github.com/edgerun/edgerun/rootfs"
	"github.com/edgerun/edgerun/specgen"
)

// monitor owns one detached container: it starts it, logs its output,
// waits for it, records how it ended and applies its restart policy. It
// lives as long as the container should run; the owner lock it inherited
// is held until it exits.
type monitor struct {
	r      *Runtime
	id     string
	log    *logfile.Writer
	lock   *lockfile.Lock // held around load → act → save, nil otherwise
	wake   chan os.Signal
	status *os.File // the CLI's pipe until the first start is reported
	owner  *os.File
	resume *resumed // set when this process continues a monitor (see shed)
}

// MonitorMain is the monitor process: args are the persistent root, the
// volatile root and the container ID; the locks and the status pipe are
// inherited file descriptors (see handOver). It returns the exit code.
func MonitorMain(args []string) int {
	if len(args) < 3 {
		fmt.Fprintln(os.Stderr, "edgerun: the monitor is started by edgerun run -d, not by hand")
		return 2
	}
	cfg := Config{Root: args[0], State: args[1], BootIDFile: os.Getenv(BootIDFileEnv), Rootless: rootless.Inside(),
		Events: events.Open(args[0], events.Options{})}
	r := &Runtime{cfg: cfg}
	m := &monitor{r: r, id: args[2], wake: make(chan os.Signal, 1)}
	if len(args) > 3 && (args[3] == resumeArg || args[3] == relayArg) {
		res, owner, err := parseResume(args[4:])
		if err != nil {
			fmt.Fprintln(os.Stderr, "edgerun:", err)
			return 2
		}
		m.resume, m.owner = res, owner
		if res.wake {
			m.wake <- unix.SIGUSR1
		}
	} else {
		// The owner lock stays held by this descriptor until the process
		// ends; it is kept referenced so no finalizer closes it.
		m.owner = os.NewFile(monitorOwnerFd, "owner")
		m.lock = lockfile.FromFile(os.NewFile(monitorLockFd, "lock"), r.lockPath(m.id))
		m.status = os.NewFile(monitorStatusFd, "status")
	}
	signal.Ignore(unix.SIGHUP, unix.SIGINT, unix.SIGPIPE)
	signal.Notify(m.wake, unix.SIGUSR1)
	err := m.run()
	m.report(err)
	goruntime.KeepAlive(m.owner)
	if err != nil {
		return 1
	}
	return 0
}

// report tells the waiting CLI the outcome of the first start, once.
func (m *monitor) report(err error) {
	if m.status == nil {
		return
	}
	if err == nil {
		fmt.Fprintln(m.status, "ok")
	} else {
		fmt.Fprintf(m.status, "error %d %s\n", exitCodeOf(err), err)
	}
	m.status.Close()
	m.status = nil
}

func (m *monitor) run() error {
	defer m.unlock()
	rec, err := m.r.loadRecord(m.id)
	if err != nil {
		return &ExitError{ExitRuntimeFailed, fmt.Errorf("load container record: %w", err)}
	}
	m.log, err = logfile.Open(m.r.logPath(m.id), rec.LogMaxSize, rec.LogMaxFile)
	if err != nil {
		return m.startFailed(rec, &ExitError{ExitRuntimeFailed, err})
	}
	defer m.log.Close()
	var backoff time.Duration
	for {
		var run *monitorRun
		var started time.Time
		code, exited := 0, false
		if m.resume != nil {
			run, started, backoff = m.resume.run, m.resume.started, m.resume.backoff
			code, exited = m.resume.code, m.resume.exited
			m.resume = nil
		} else {
			started = time.Now()
			if run, err = m.start(rec); err != nil {
				if m.status != nil || !rec.Policy().ShouldRestart(exitCodeOf(err), rec.RestartCount, rec.StoppedByUser) {
					return m.startFailed(rec, err)
				}
				// A restart that cannot start is retried with the
				// policy's backoff, like an exit; ps shows why.
				rec.Error = err.Error()
				_ = m.r.saveRecord(rec)
				code, exited = exitCodeOf(err), true
				m.unlock()
			} else {
				// Docker's backoff reset counts the time the process ran,
				// not the time it took to set the container up.
				started = time.Now()
				m.unlock()
				m.report(nil)
				if run.oom != nil {
					_ = m.r.noticeOOM(context.Background(), m.id) // a kill before the watch began
				}
				m.shed(rec, run, started, backoff) // returns only if the re-exec failed
			}
		}
		keepHeapSmall()
		if !exited {
			m.copyOutput(run)
			stopProbes := m.r.probeLoop(m.id, rec.HealthCheck, started)
			stopOOM := m.r.oomLoop(m.id, run.oom)
			debug.FreeOSMemory()
			code = run.wait()
			stopOOM()
			stopProbes()
		}
		if rec, err = m.relock(); err != nil {
			return nil // removed while it ran (rm -f)
		}
		fault.Point("monitor/before-exit-record")
		backoff = restart.NextBackoff(backoff, time.Since(started))
		if !m.exited(rec, code, backoff) {
			return nil
		}
		fault.Point("monitor/before-restart")
		if rec, err = m.sleep(backoff); err != nil || rec == nil {
			return nil
		}
	}
}

// start starts the container (the lock is held) and records it running.
func (m *monitor) start(rec *Record) (*monitorRun, error) {
	// The spec is read for each start and dropped after it: a running
	// container's monitor keeps nothing of it (see shed).
	spec, err := m.r.loadSpec(m.id)
	if err != nil {
		return nil, &ExitError{ExitRuntimeFailed, err}
	}
	// A device named by a stable link gets the node the link names now.
	if _, err := specgen.ApplyDevices(spec, "/dev", m.r.cfg.Rootless); err != nil {
		return nil, &ExitError{ExitRuntimeFailed, err}
	}
	// After a reboot the kernel has forgotten edgerun's profile.
	if spec.Process.ApparmorProfile == apparmor.DefaultProfile {
		if _, err := m.r.ensureAppArmor(apparmor.System()); err != nil {
			return nil, &ExitError{ExitRuntimeFailed, err}
		}
	}
	// Its network namespace may have gone with a wiped /run.
	if err := m.r.ensureNetwork(context.Background(), rec); err != nil {
		return nil, &ExitError{ExitRuntimeFailed, err}
	}
	lc, err := m.r.createLibcontainer(m.id, spec)
	if err != nil {
		return nil, &ExitError{ExitRuntimeFailed, err}
	}
	fault.Point("monitor/after-libcontainer")
	stdin := ""
	if rec.OpenStdin {
		stdin = m.r.stdinPath(m.id)
	}
	run, err := startProcess(lc, spec.Process, stdin)
	if err != nil {
		_ = m.r.destroyLibcontainer(m.id)
		return nil, err
	}
	pid := run.pid
	rec.State, rec.Pid, rec.StartedAt, rec.FinishedAt = StateRunning, pid, time.Now().UTC(), time.Time{}
	rec.RestartDelay = 0
	rec.MonitorPid, rec.MonitorLost, rec.HostRestarted, rec.Error, rec.BootID = os.Getpid(), false, false, "", m.r.bootID()
	rec.HealthRestart, rec.Paused = false, false
	rec.resetOOM()
	if err := m.r.saveRecord(rec); err != nil {
		_ = m.r.destroyLibcontainer(m.id)
		return nil, &ExitError{ExitRuntimeFailed, err}
	}
	m.r.event(rec, "start", nil)
	m.r.resetHealth(rec)
	run.oom = m.r.watchOOM(m.id)
	fault.Point("monitor/after-start")
	return run, nil
}

// startFailed records why the container could not start. A container of
// `run -d` that never ran is removed: the CLI reports the reason.
func (m *monitor) startFailed(rec *Record, err error) error {
	if rec.State == StateCreated && !rec.Prepared {
		_ = m.r.removeFiles(rec)
		return err
	}
	_ = rootfs.Unmount(m.r.containerDir(m.id))
	if rec.State != StateCreated { // a created one stays created, as in docker
		rec.State = StateExited
	}
	rec.Pid, rec.MonitorPid = 0, 0
	rec.ExitCode, rec.Error, rec.FinishedAt = exitCodeOf(err), err.Error(), time.Now().UTC()
	_ = m.r.saveRecord(rec)
	return err
}

// relock takes the container lock after the container ended and reloads
// the record; an error means the container was removed.
func (m *monitor) relock() (*Record, error) {
	lock, err := m.r.lockContainer(context.Background(), m.id)
	if err != nil {
		return nil, err
	}
	m.lock = lock
	rec, err := m.r.loadRecord(m.id)
	if err != nil {
		_ = m.r.destroyLibcontainer(m.id)
		m.unlock()
		return nil, err
	}
	return rec, nil
}

// exited records how the container ended and releases its cgroup. It
// returns true (lock released) when the restart policy restarts it, false
// when the monitor's work is done.
func (m *monitor) exited(rec *Record, code int, backoff time.Duration) bool {
	defer m.unlock()
	var paths map[string]string
	if c := m.r.loadLibcontainer(m.id); c != nil {
		if st, err := c.State(); err == nil {
			paths = st.CgroupPaths
		}
	}
	m.r.endOOM(rec, paths, code)
	_ = m.r.destroyLibcontainer(m.id)
	rec.Pid, rec.ExitCode, rec.FinishedAt = 0, code, time.Now().UTC()
	rec.Paused = false
	// --health-on-failure restart: started again whatever the policy.
	healthRestart := rec.HealthRestart && !rec.StoppedByUser
	rec.HealthRestart = false
	if healthRestart || rec.Policy().ShouldRestart(code, rec.RestartCount, rec.StoppedByUser) {
		rec.State, rec.RestartDelay = StateRestarting, backoff
		rec.RestartCount++
		if m.r.saveRecord(rec) == nil {
			m.r.died(rec)
			return true
		}
	}
	m.finish(rec, true)
	return false
}

// finish leaves the container stopped (or removes it with --rm); died
// says a run just ended (its die event goes once the exit is recorded).
func (m *monitor) finish(rec *Record, died bool) {
	rec.State, rec.Pid, rec.MonitorPid = StateExited, 0, 0
	if rec.AutoRemove {
		// The exit, recorded for edgerun wait (see saveLastExit).
		m.r.saveLastExit(rec)
		if died {
			m.r.died(rec)
		}
		_ = m.r.removeFiles(rec)
		return
	}
	_ = rootfs.Unmount(m.r.containerDir(m.id))
	_ = m.r.saveRecord(rec)
	if died {
		m.r.died(rec)
	}
}

// sleep waits out the backoff (stop wakes it early with SIGUSR1) and
// returns the record with the lock held, or nil when the container was
// stopped or removed meanwhile.
func (m *monitor) sleep(d time.Duration) (*Record, error) {
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-m.wake:
		t.Stop()
	}
	rec, err := m.relock()
	if err != nil {
		return nil, err
	}
	if rec.StoppedByUser {
		m.finish(rec, false)
		m.unlock()
		return nil, nil
	}
	return rec, nil
}

// unlock releases the container lock (deleting the lock files once the
// container is removed, see Runtime.unlock).
func (m *monitor) unlock() {
	if m.lock != nil {
		_ = m.r.unlock(m.lock, m.id)
		m.lock = nil
	}
}

// monitorRun is one run of the container's init process.
type monitorRun struct {
	pid     int
	proc    *libcontainer.Process // nil in a resumed monitor (see shed)
	streams []*os.File            // the container's output: stdout, stderr (or the pty)
	names   []string              // their stream names in the log
	keep    []*os.File            // stdin's write end with -i: held open for the run
	oom     *cgroups.OOMWatch     // the OOM kills' notice, nil without a memory cgroup
	copied  chan struct{}         // closed when the output is drained
}

// wait waits for the init process and its output, and returns the exit
// code (128+N when killed by signal N).
func (run *monitorRun) wait() int {
	var code int
	if run.proc != nil {
		ps, err := run.proc.Wait()
		switch {
		case ps != nil:
			code = waitCode(ps)
		case errors.Is(err, unix.ECHILD):
			code = -1
		default:
			code = ExitRuntimeFailed
		}
	} else {
		code = waitPid(run.pid)
	}
	// The container's processes died with its init: the pipes reach EOF.
	// Do not hang on a descriptor something else kept open.
	select {
	case <-run.copied:
	case <-time.After(2 * time.Second):
	}
	for _, f := range append(run.streams, run.keep...) {
		f.Close()
	}
	return code
}

// waitPid waits for a child by PID (the init of a container started by
// this process before it re-executed itself).
func waitPid(pid int) int {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return -1
		}
		return statusCode(ws)
	}
}
