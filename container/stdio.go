package container

import (
	"github.com/opencontainers/runc/libcontainer"

	"github.com/edgerun/edgerun/terminal"
)

// stdio connects a foreground container to the caller's streams: directly
// (the container gets the caller's file descriptors), or through a pty
// with -t (package terminal).
type stdio struct {
	opts *RunOptions
	term *terminal.Conn // with -t
}

func attachIO(p *libcontainer.Process, opts *RunOptions, tty bool) (*stdio, error) {
	s := &stdio{opts: opts}
	if !tty {
		if opts.Interactive {
			p.Stdin = opts.Stdin
		}
		p.Stdout, p.Stderr = opts.Stdout, opts.Stderr
		return s, nil
	}
	t, err := terminal.Open(opts.Stdin)
	if err != nil {
		return nil, err
	}
	s.term = t
	p.ConsoleSocket = t.Socket()
	if w, h, ok := t.Size(); ok {
		p.ConsoleWidth, p.ConsoleHeight = w, h
	}
	return s, nil
}

// started receives the container's pty (with -t) and starts copying.
func (s *stdio) started() error {
	if s.term == nil {
		return nil
	}
	var in = s.opts.Stdin
	if !s.opts.Interactive {
		in = nil
	}
	return s.term.Attach(s.opts.Stdout, in)
}

// resize copies the caller's terminal size to the container's (SIGWINCH).
func (s *stdio) resize() {
	if s.term != nil {
		s.term.Resize()
	}
}

// wait returns once the container's output has been copied out.
func (s *stdio) wait() {
	if s.term != nil {
		s.term.Wait()
	}
}

func (s *stdio) close() {
	if s.term != nil {
		s.term.Close()
	}
}

// forwardSignals relays the signals edgerun receives to the container's
// init (SIGWINCH resizes the pty instead), until the returned stop.
func forwardSignals(p *libcontainer.Process, s *stdio) (stop func()) {
	return terminal.ForwardSignals(p.Signal, s.resize)
}
