package container

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/logfile"
)

// Starting a container through libcontainer leaves the monitor's Go heap,
// stacks and GC metadata at about 3 MiB, most of it garbage that Go keeps
// mapped, and any Go process of this binary costs 1.2 MiB. Once the
// container runs, the monitor therefore re-executes itself (same PID, so
// the container's init stays its child) into the C monitor (package
// relay, which cmd/edgerun links in) with only what it needs: the owner lock, the output
// streams, the log, the PID, the start time and the backoff. The C monitor
// executes the Go one again ("resume ... exit=CODE") once the container has
// exited; if it does not take over (bad arguments, or a binary without
// package relay), the Go monitor resumes with the container running. See
// docs/benchmarks.md (Monitor memory).
//
// The arguments are the protocol between the two, documented in
// relay/relay.c:
//
//	edgerun-mon NAME __monitor ROOT STATE ID relay PID STARTED BACKOFF log=PATH
//	    max-size=N max-file=N [health=MS,MS,MS,MS] [devices=DIR:DIR...] [oom=FD[,FD]]
//	    owner=FD stdout=FD [stderr=FD] [keep=FD]
//	edgerun-mon NAME __monitor ROOT STATE ID resume PID STARTED BACKOFF [exit=CODE]
//	    [wake=1] owner=FD [stdout=FD stderr=FD keep=FD]

// resumed is what a re-executed monitor continues with.
type resumed struct {
	run     *monitorRun
	started time.Time
	backoff time.Duration
	exited  bool // the C monitor saw the container exit with code
	code    int
	wake    bool // stop's SIGUSR1 came while the container ran
}

// relayArg selects the C monitor; resumeArg the Go one (the C monitor
// executes the Go one with it once the container has exited).
const (
	relayArg  = "relay"
	resumeArg = "resume"
)

// shed re-executes the monitor to drop its start-up memory. It returns
// only if that failed; the monitor then goes on as it is.
func (m *monitor) shed(rec *Record, run *monitorRun, started time.Time, backoff time.Duration) {
	exe := "/proc/self/exe"
	args := []string{monitorArgv0(rec), MonitorCommand, m.r.cfg.Root, m.r.cfg.State, m.id, relayArg,
		strconv.Itoa(run.pid), strconv.FormatInt(started.UnixNano(), 10), strconv.FormatInt(int64(backoff), 10)}
	args = append(args, "log="+m.log.Path(), "max-size="+strconv.FormatInt(m.log.MaxSize(), 10),
		"max-file="+strconv.Itoa(m.log.MaxFile()))
	if h := rec.HealthCheck; h != nil {
		args = append(args, fmt.Sprintf("health=%d,%d,%d,%d", h.Interval.Milliseconds(), h.StartInterval.Milliseconds(),
			h.StartPeriod.Milliseconds(), h.Timeout.Milliseconds()))
	}
	if dirs := m.r.hotplugDirs(m.id); len(dirs) > 0 {
		args = append(args, "devices="+strings.Join(dirs, ":"))
	}
	fds := []uintptr{m.owner.Fd()}
	if run.oom != nil {
		note, events := run.oom.Fds()
		arg := "oom=" + strconv.Itoa(int(note))
		fds = append(fds, note)
		if events != ^uintptr(0) {
			arg += "," + strconv.Itoa(int(events))
			fds = append(fds, events)
		}
		args = append(args, arg)
	}
	args = append(args, "owner="+strconv.Itoa(int(m.owner.Fd())))
	for i, f := range run.streams {
		args = append(args, run.names[i]+"="+strconv.Itoa(int(f.Fd())))
		fds = append(fds, f.Fd())
	}
	for _, f := range run.keep {
		args = append(args, "keep="+strconv.Itoa(int(f.Fd())))
		fds = append(fds, f.Fd())
	}
	for _, fd := range fds {
		if _, err := unix.FcntlInt(fd, unix.F_SETFD, 0); err != nil {
			return
		}
	}
	m.log.Close()
	err := syscall.Exec(exe, args, os.Environ())
	// Still here: undo and carry on in this image.
	for _, fd := range fds {
		_, _ = unix.FcntlInt(fd, unix.F_SETFD, unix.FD_CLOEXEC)
	}
	if run.oom != nil {
		// Fds left it blocking, which a Go Wait cannot be woken from:
		// oomLoop makes a new one.
		_ = run.oom.Close()
		run.oom = nil
	}
	if lw, lerr := logfile.Open(m.r.logPath(m.id), m.log.MaxSize(), m.log.MaxFile()); lerr == nil {
		m.log = lw
	}
	_ = err
}

// parseResume reads the arguments shed passed: PID, start time, backoff
// and the inherited descriptors.
func parseResume(args []string) (*resumed, *os.File, error) {
	if len(args) < 4 {
		return nil, nil, fmt.Errorf("resume: want PID, start time, backoff and descriptors")
	}
	pid, err1 := strconv.Atoi(args[0])
	ns, err2 := strconv.ParseInt(args[1], 10, 64)
	bo, err3 := strconv.ParseInt(args[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, nil, fmt.Errorf("resume: bad arguments %q", args[:3])
	}
	res := &resumed{run: &monitorRun{pid: pid}, started: time.Unix(0, ns), backoff: time.Duration(bo)}
	var owner *os.File
	for _, a := range args[3:] {
		name, v, ok := strings.Cut(a, "=")
		switch name {
		case "log", "max-size", "max-file", "health", "devices": // the C monitor's: the record says the same
			continue
		case "oom": // the C monitor's OOM watch: a Go monitor makes its own (oomLoop)
			for _, fd := range strings.Split(v, ",") {
				if n, err := strconv.Atoi(fd); err == nil && n > 2 {
					_ = unix.Close(n)
				}
			}
			continue
		}
		fd, err := strconv.Atoi(v)
		if !ok || err != nil {
			return nil, nil, fmt.Errorf("resume: bad descriptor %q", a)
		}
		switch name {
		case "exit":
			res.exited, res.code = true, fd
			continue
		case "wake":
			res.wake = fd == 1
			continue
		}
		unix.CloseOnExec(fd)
		f := os.NewFile(uintptr(fd), name)
		switch name {
		case "owner":
			owner = f
		case "keep":
			res.run.keep = append(res.run.keep, f)
		default:
			res.run.streams, res.run.names = append(res.run.streams, f), append(res.run.names, name)
		}
	}
	if owner == nil {
		return nil, nil, fmt.Errorf("resume: no owner lock descriptor")
	}
	return res, owner, nil
}
