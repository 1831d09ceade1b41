package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/terminal"
)

// startProcess starts the container's init with its output going to the
// log: two pipes, or a pty with -t (one stream, logged as stdout). With -i
// (stdinFifo not empty) its stdin is a FIFO at stdinFifo that the monitor
// keeps open for writing, so a shell waits for input instead of reading
// EOF, and edgerun attach writes into it (see Runtime.Attach).
func startProcess(lc *libcontainer.Container, sp *specs.Process, stdinFifo string) (*monitorRun, error) {
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
		if stdinFifo != "" {
			r, w, err := openStdinFifo(stdinFifo)
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

// openStdinFifo makes the FIFO a detached -i container reads its stdin
// from and opens both ends: the write end (read-write, so opening never
// blocks and the container never reads EOF) stays with the monitor. Both
// are opened blocking (not through os.OpenFile, which would make the
// container's stdin non-blocking).
func openStdinFifo(path string) (r, w *os.File, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return nil, nil, fmt.Errorf("make %s: %w", path, err)
	}
	wfd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	rfd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(wfd)
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	return os.NewFile(uintptr(rfd), "stdin"), os.NewFile(uintptr(wfd), "stdin-keep"), nil
}
