package container

import (
	"fmt"
	"os"
	"sync"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/terminal"
)

// startProcess starts the container's init with its output going to the
// log: two pipes, or a pty with -t (one stream, logged as stdout). With -i
// the monitor keeps stdin's write end open, so a shell waits for input
// instead of reading EOF.
func startProcess(lc *libcontainer.Container, sp *specs.Process, openStdin bool) (*monitorRun, error) {
	proc, err := newProcess(sp)
	if err != nil {
		return nil, &ExitError{ExitRuntimeFailed, err}
	}
	run := &monitorRun{proc: proc}
	var (
		child []*os.File // ends the container gets, closed here after start
		sock  *os.File
	)
	defer func() {
		for _, f := range child {
			f.Close()
		}
	}()
	fail := func(err error) (*monitorRun, error) {
		for _, f := range append(run.streams, run.keep...) {
			f.Close()
		}
		if sock != nil {
			sock.Close()
		}
		return nil, err
	}
	if sp.Terminal {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fail(&ExitError{ExitRuntimeFailed, fmt.Errorf("create console socket: %w", err)})
		}
		sock = os.NewFile(uintptr(fds[0]), "console")
		c := os.NewFile(uintptr(fds[1]), "console-child")
		child = append(child, c)
		proc.ConsoleSocket = c
	} else {
		for _, name := range []string{"stdout", "stderr"} {
			r, w, err := os.Pipe()
			if err != nil {
				return fail(&ExitError{ExitRuntimeFailed, fmt.Errorf("create %s pipe: %w", name, err)})
			}
			run.streams, run.names, child = append(run.streams, r), append(run.names, name), append(child, w)
		}
		proc.Stdout, proc.Stderr = child[0], child[1]
		if openStdin {
			r, w, err := os.Pipe()
			if err != nil {
				return fail(&ExitError{ExitRuntimeFailed, fmt.Errorf("create stdin pipe: %w", err)})
			}
			proc.Stdin, child, run.keep = r, append(child, r), append(run.keep, w)
		}
	}
	if err := lc.Run(proc); err != nil {
		return fail(startError(err))
	}
	if sock != nil {
		pty, err := terminal.Receive(sock)
		sock.Close()
		sock = nil
		if err != nil {
			_ = proc.Signal(unix.SIGKILL)
			_, _ = proc.Wait()
			return fail(&ExitError{ExitRuntimeFailed, fmt.Errorf("receive the container's terminal: %w", err)})
		}
		run.streams, run.names = append(run.streams, pty), append(run.names, "stdout")
	}
	run.pid, _ = proc.Pid()
	return run, nil
}

// copyOutput logs the container's output streams until they end.
func (m *monitor) copyOutput(run *monitorRun) {
	run.copied = make(chan struct{})
	var wg sync.WaitGroup
	for i, f := range run.streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.log.CopyStream(run.names[i], f)
		}()
	}
	go func() { wg.Wait(); close(run.copied) }()
}
