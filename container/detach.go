package container

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/lockfile"
	"github.com/edgerun/edgerun/logfile"
	"github.com/edgerun/edgerun/rootfs"
)

// MonitorCommand is the hidden first argument that re-executes edgerun as
// a container's monitor; main dispatches it before the CLI is parsed.
const MonitorCommand = "__monitor"

// The monitor inherits, after stdin/stdout/stderr (all /dev/null):
const (
	monitorOwnerFd  = 3 // <id>.owner, held for the monitor's life
	monitorLockFd   = 4 // <id>.lock, held until the first start is recorded
	monitorStatusFd = 5 // write end of the pipe the CLI reads the outcome from
)

// monitorEnv keeps the monitor's Go runtime small: one P (no per-P caches
// for idle Ps). Its heap is held small (keepHeapSmall) only once the
// container runs: a GOGC of 25 and a 4 MiB limit from the process's start
// made it collect almost without pause while it started the container,
// and run -d waited 14-19 ms longer for it. See docs/benchmarks.md.
var monitorEnv = []string{"GOMAXPROCS=1", "GODEBUG=madvdontneed=1,memprofilerate=0"}

// keepHeapSmall makes a Go monitor that stays (the C monitor did not take
// over, or it waits out a restart) collect early and return memory.
func keepHeapSmall() {
	debug.SetGCPercent(25)
	debug.SetMemoryLimit(4 << 20)
}

// RunDetached creates a container and hands it to a new monitor process
// (`run -d`). It returns the container ID once the container runs. When
// it cannot start, nothing of the container is left.
func (r *Runtime) RunDetached(ctx context.Context, opts RunOptions) (string, error) {
	c, err := r.create(ctx, &opts, true)
	if err != nil {
		return "", err
	}
	// The monitor creates the libcontainer state: the container's init
	// must be its child.
	fault.Point("run-d/before-handover")
	if err := r.handOver(ctx, c.rec, c.lock, c.owner, c.rec.Network.bridges()); err != nil {
		return "", err
	}
	return c.rec.ID, nil
}

// Create makes a container as `run -d` would and leaves it created, not
// started (`edgerun create`): its root file system is unmounted, its
// network kept, and `start` hands it to a monitor. It returns the ID.
func (r *Runtime) Create(ctx context.Context, opts RunOptions) (string, error) {
	c, err := r.create(ctx, &opts, true)
	if err != nil {
		return "", err
	}
	id := c.rec.ID
	// The monitor creates the libcontainer state at start.
	err = c.snap.Unmount()
	c.rec.Prepared = true
	if err == nil {
		err = r.saveRecord(c.rec)
	}
	if err != nil {
		r.abandon(c.rec, c.lock, c.owner)
		return "", &ExitError{ExitRuntimeFailed, err}
	}
	_ = r.refreshPeerHosts(c.rec.Network.bridges(), "") // best effort: names, not addresses
	c.owner.Unlock()
	r.unlock(c.lock, id)
	return id, nil
}

// abandon removes a container that never started, with its locks held.
func (r *Runtime) abandon(rec *Record, lock, owner *lockfile.Lock) {
	_ = r.destroyLibcontainer(rec.ID)
	_ = r.removeFiles(rec)
	owner.Unlock()
	r.unlock(lock, rec.ID)
}

// startDetached starts a stopped container under a new monitor. The caller
// holds lock; it passes to the monitor (the caller's Unlock is then a
// no-op).
func (r *Runtime) startDetached(ctx context.Context, rec *Record, lock *lockfile.Lock) error {
	// A monitor that just recorded the exit may still be on its way out.
	// One whose owner lock this state directory lost still counts (the
	// kernel's answer): a second monitor must never start.
	var owner *lockfile.Lock
	if !pollUntil(ctx, killWait, 20*time.Millisecond, func() bool {
		var err error
		if monitorAlive(rec) {
			return false
		}
		owner, err = r.holdOwner(rec.ID)
		return err == nil
	}) {
		return fmt.Errorf("%w: container %s is owned by another live process", ErrContainerRunning, rec.Name)
	}
	if err := r.mountRootfs(ctx, rec); err != nil {
		owner.Unlock()
		return err
	}
	if err := r.ensureNetwork(ctx, rec); err != nil { // after a reboot: see network.go
		owner.Unlock()
		return err
	}
	rec.Detached, rec.Error = true, ""
	if rec.LogMaxSize == 0 {
		rec.LogMaxSize, rec.LogMaxFile = logfile.DefaultMaxSize, logfile.DefaultMaxFile
	}
	_ = r.destroyLibcontainer(rec.ID)
	if err := r.saveRecord(rec); err != nil {
		owner.Unlock()
		return err
	}
	fault.Point("start/before-handover")
	return r.handOver(ctx, rec, lock, owner, nil)
}

// mountRootfs mounts a stopped container's root file system again (its
// upper dir kept its changes); a copy snapshot is reused as it is.
func (r *Runtime) mountRootfs(ctx context.Context, rec *Record) error {
	store, err := r.Images()
	if err != nil {
		return err
	}
	if _, err := rootfs.Prepare(ctx, r.containerDir(rec.ID), store.LayerDirs(rec.Layers), rootfs.SnapshotOptions{MountLabel: rec.MountLabel}); err != nil {
		return fmt.Errorf("mount the root file system of %s: %w", rec.Name, err)
	}
	return nil
}

// handOver starts the monitor with the container's lock and owner lock
// and waits until it reports the container running, or why not. On
// success this process's copies of both locks are closed (the monitor
// holds them); on failure before the monitor starts, they stay held.
//
// The peers on the bridges in peers learn the container's name while its
// monitor starts it: the refresh waits on small files, the start on the
// monitor's processes, and neither on the other (before, a run -d with
// 100 containers on its bridge spent 6-9 ms on it first). It is over
// before handOver returns, as it was before the start.
func (r *Runtime) handOver(ctx context.Context, rec *Record, lock, owner *lockfile.Lock, peers []string) error {
	// Best effort, as every refresh: names, not addresses. The container's
	// own file is written now; rest writes its peers' and must run before
	// anything else takes the hosts lock (a failed start's removal does).
	rest, _ := r.refreshPeerHostsFirst(peers, "", rec.ID)
	failed := func(err error) error {
		_ = rest()
		return r.handOverFailed(rec, lock, owner, err)
	}
	exe, err := os.Executable()
	if err != nil {
		return failed(fmt.Errorf("find the edgerun binary for the monitor: %w", err))
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return failed(fmt.Errorf("create monitor pipe: %w", err))
	}
	defer pr.Close()
	cmd := exec.Command(exe, MonitorCommand, r.cfg.Root, r.cfg.State, rec.ID)
	cmd.Args[0] = monitorArgv0(rec)
	cmd.Env = append(os.Environ(), monitorEnv...)
	cmd.ExtraFiles = []*os.File{owner.File(), lock.File(), pw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return failed(fmt.Errorf("start the container's monitor: %w", err))
	}
	owner.Close()
	lock.Close()
	go func() { _ = cmd.Wait() }() // reap it if it ends while this process lives
	fault.Point("run-d/after-handover")
	refreshed := make(chan struct{})
	go func() {
		defer close(refreshed)
		_ = rest() // best effort: names, not addresses
	}()
	err = readMonitorStatus(ctx, pr, rec.Name)
	<-refreshed
	return err
}

func (r *Runtime) handOverFailed(rec *Record, lock, owner *lockfile.Lock, err error) error {
	if rec.State == StateCreated && !rec.Prepared {
		r.abandon(rec, lock, owner)
	} else {
		owner.Unlock()
	}
	return &ExitError{ExitRuntimeFailed, err}
}

// readMonitorStatus reads the monitor's report: "ok", or "error CODE MSG".
func readMonitorStatus(ctx context.Context, pr io.Reader, name string) error {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(pr).ReadString('\n')
		ch <- result{strings.TrimSuffix(line, "\n"), err}
	}()
	var res result
	select {
	case res = <-ch:
	case <-ctx.Done():
		return &ExitError{ExitRuntimeFailed, fmt.Errorf("interrupted while container %s was starting: it goes on starting; see edgerun ps", name)}
	}
	if res.line == "ok" {
		return nil
	}
	if code, msg, ok := strings.Cut(strings.TrimPrefix(res.line, "error "), " "); ok && strings.HasPrefix(res.line, "error ") {
		n, _ := strconv.Atoi(code)
		return &ExitError{n, errors.New(msg)}
	}
	return &ExitError{ExitRuntimeFailed, fmt.Errorf("the monitor of container %s died before the container started (%w): see edgerun ps -a", name, res.err)}
}

// waitMonitorGone waits until the container's monitor process (if it had
// one) has exited, at most d. It goes by the process, not the owner lock,
// whose file is deleted with the container.
func (r *Runtime) waitMonitorGone(ctx context.Context, rec *Record, d time.Duration) bool {
	if rec.MonitorPid <= 0 {
		return true
	}
	return pollUntil(ctx, d, 100*time.Millisecond, func() bool { return !isMonitorOf(rec.MonitorPid, rec.ID) })
}

// isMonitorOf says whether pid is a live monitor of container id.
func isMonitorOf(pid int, id string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	// edgerun-mon NAME __monitor ROOT STATE ID [resume|relay ...] (argv[0] is
	// the monitor's name, see monitor_name.go); empty for an instant while
	// the monitor re-executes itself (see shed).
	if args := bytes.Split(b, []byte{0}); len(b) > 0 && (len(args) < 5 || string(args[1]) != MonitorCommand || string(args[4]) != id) {
		return false
	}
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(st, ')')
	return i > 0 && i+2 < len(st) && st[i+2] != 'Z'
}
