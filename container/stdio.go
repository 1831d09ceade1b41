package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"

	"github.com/containerd/console"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// stdio connects a foreground container to the caller's streams: directly
// (the container gets the caller's file descriptors), or through a pty
// with -t.
type stdio struct {
	opts   *RunOptions
	tty    bool
	sock   *os.File        // parent end of the console socket (tty)
	child  *os.File        // child end, passed to libcontainer
	pty    console.Console // the container's terminal (tty)
	host   console.Console // the caller's terminal, in raw mode (tty)
	copied sync.WaitGroup
}

func attachIO(p *libcontainer.Process, opts *RunOptions, tty bool) (*stdio, error) {
	s := &stdio{opts: opts, tty: tty}
	if !tty {
		if opts.Interactive {
			p.Stdin = opts.Stdin
		}
		p.Stdout, p.Stderr = opts.Stdout, opts.Stderr
		return s, nil
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create console socket: %w", err)
	}
	s.sock, s.child = os.NewFile(uintptr(fds[0]), "console-parent"), os.NewFile(uintptr(fds[1]), "console-child")
	p.ConsoleSocket = s.child
	if f, ok := opts.Stdin.(*os.File); ok {
		if c, err := console.ConsoleFromFile(f); err == nil {
			s.host = c
			if sz, err := c.Size(); err == nil {
				p.ConsoleWidth, p.ConsoleHeight = sz.Width, sz.Height
			}
		}
	}
	return s, nil
}

// started receives the container's pty (with -t) and starts copying.
func (s *stdio) started() error {
	if !s.tty {
		return nil
	}
	s.child.Close()
	f, err := recvFd(s.sock)
	if err != nil {
		return fmt.Errorf("receive the container's terminal: %w", err)
	}
	pty, err := console.ConsoleFromFile(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("container terminal: %w", err)
	}
	s.pty = pty
	if s.host != nil {
		if err := s.host.SetRaw(); err != nil {
			s.host = nil
		} else {
			_ = pty.ResizeFrom(s.host)
		}
	}
	s.copied.Add(1)
	go func() {
		defer s.copied.Done()
		_, _ = io.Copy(s.opts.Stdout, pty)
	}()
	if s.opts.Interactive && s.opts.Stdin != nil {
		go func() { _, _ = io.Copy(pty, s.opts.Stdin) }()
	}
	return nil
}

// resize copies the caller's terminal size to the container's (SIGWINCH).
func (s *stdio) resize() {
	if s.pty != nil && s.host != nil {
		_ = s.pty.ResizeFrom(s.host)
	}
}

// wait returns once the container's output has been copied out.
func (s *stdio) wait() { s.copied.Wait() }

func (s *stdio) close() {
	if s.host != nil {
		_ = s.host.Reset()
	}
	for _, c := range []io.Closer{s.sock, s.child} {
		if c != nil {
			c.Close()
		}
	}
	if s.pty != nil {
		s.pty.Close()
	}
}

// recvFd receives one file descriptor sent with SCM_RIGHTS.
func recvFd(sock *os.File) (*os.File, error) {
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, errors.New("expected one control message with the terminal")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return nil, err
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("expected one file descriptor for the terminal")
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}

// forwardedSignals are passed on to a foreground container.
var forwardedSignals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

type forwarder struct {
	ch   chan os.Signal
	done chan struct{}
}

// forwardSignals relays the signals edgerun receives to the container's
// init (SIGWINCH resizes the pty instead), until stop.
func forwardSignals(p *libcontainer.Process, s *stdio) *forwarder {
	f := &forwarder{ch: make(chan os.Signal, 16), done: make(chan struct{})}
	signal.Notify(f.ch, forwardedSignals...)
	go func() {
		for {
			select {
			case sig := <-f.ch:
				if sig == unix.SIGWINCH {
					s.resize()
					continue
				}
				_ = p.Signal(sig)
			case <-f.done:
				return
			}
		}
	}()
	return f
}

func (f *forwarder) stop() {
	signal.Stop(f.ch)
	close(f.done)
}
