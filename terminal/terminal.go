// Package terminal handles a container's pseudo-terminal from the side of
// the process that starts it. With a terminal, the runtime's init creates
// the pty inside the container and sends its master back over a console
// socket (runc's protocol, which libcontainer follows). This package makes
// that socket, receives the master, and relays it to the caller's own
// terminal in raw mode, following window-size changes, and passes the
// caller's signals on to the container (docker's sig-proxy). It knows
// nothing of containers or runc and imports no package of this module.
package terminal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

// Conn is one container terminal seen from the caller: the console socket
// until the pty arrives, then the pty and the caller's terminal.
type Conn struct {
	sock   *os.File        // our end of the console socket
	child  *os.File        // the runtime's end
	host   console.Console // the caller's terminal, nil when stdin is none
	pty    console.Console
	copied sync.WaitGroup
}

// Open makes the console socket. When stdin is a terminal, it becomes the
// caller's side: its size is the container's first, and it is put in raw
// mode once the pty arrives.
func Open(stdin io.Reader) (*Conn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create console socket: %w", err)
	}
	c := &Conn{sock: os.NewFile(uintptr(fds[0]), "console-parent"), child: os.NewFile(uintptr(fds[1]), "console-child")}
	if f, ok := stdin.(*os.File); ok {
		if h, err := console.ConsoleFromFile(f); err == nil {
			c.host = h
		}
	}
	return c, nil
}

// Socket is the end of the console socket the runtime sends the pty on.
func (c *Conn) Socket() *os.File { return c.child }

// Size is the caller's terminal size, the container's first.
func (c *Conn) Size() (width, height uint16, ok bool) {
	if c.host == nil {
		return 0, 0, false
	}
	sz, err := c.host.Size()
	return sz.Width, sz.Height, err == nil
}

// Attach receives the container's pty (the runtime has started its
// init), puts the caller's terminal in raw mode and copies the pty to
// stdout and, unless stdin is nil, stdin to the pty.
func (c *Conn) Attach(stdout io.Writer, stdin io.Reader) error {
	c.child.Close()
	c.child = nil
	f, err := Receive(c.sock)
	if err != nil {
		return fmt.Errorf("receive the container's terminal: %w", err)
	}
	pty, err := console.ConsoleFromFile(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("container terminal: %w", err)
	}
	c.pty = pty
	if c.host != nil {
		if err := c.host.SetRaw(); err != nil {
			c.host = nil
		} else {
			_ = pty.ResizeFrom(c.host)
		}
	}
	c.copied.Add(1)
	go func() {
		defer c.copied.Done()
		_, _ = io.Copy(stdout, pty)
	}()
	if stdin != nil {
		go func() { _, _ = io.Copy(pty, stdin) }()
	}
	return nil
}

// Resize copies the caller's terminal size to the container's (SIGWINCH).
func (c *Conn) Resize() {
	if c.pty != nil && c.host != nil {
		_ = c.pty.ResizeFrom(c.host)
	}
}

// Wait returns once the container's output has been copied out.
func (c *Conn) Wait() { c.copied.Wait() }

// Close restores the caller's terminal and closes the socket and the pty.
func (c *Conn) Close() {
	if c.host != nil {
		_ = c.host.Reset()
	}
	for _, f := range []*os.File{c.sock, c.child} {
		if f != nil {
			f.Close()
		}
	}
	if c.pty != nil {
		c.pty.Close()
	}
}

// Receive receives one file descriptor sent with SCM_RIGHTS over sock, as
// a runtime sends a container's pty master.
func Receive(sock *os.File) (*os.File, error) {
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

// Forwarded are the signals ForwardSignals passes on.
var Forwarded = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT,
	unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// ForwardSignals passes the signals this process receives (Forwarded) to
// send, except SIGWINCH, which calls resize, until stop is called.
func ForwardSignals(send func(os.Signal) error, resize func()) (stop func()) {
	ch, done := make(chan os.Signal, 16), make(chan struct{})
	signal.Notify(ch, Forwarded...)
	go func() {
		for {
			select {
			case sig := <-ch:
				if sig == unix.SIGWINCH {
					resize()
					continue
				}
				_ = send(sig)
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
