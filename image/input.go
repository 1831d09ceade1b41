package image

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// cancelReader reads a stream that may stall for ever (stdin, a pipe) so
// that a read ends when ctx does. Each read runs in a goroutine, into the
// reader's own buffer; when ctx ends first, Read returns its cause and the
// blocked read is abandoned (its goroutine ends with the read, or with the
// process). Not safe for concurrent use, as any io.Reader.
type cancelReader struct {
	ctx     context.Context
	r       io.Reader
	buf     []byte
	rest    []byte // read but not yet handed out
	err     error  // the stream's error, after rest
	pending chan readResult
}

type readResult struct {
	n   int
	err error
}

func newCancelReader(ctx context.Context, r io.Reader) *cancelReader {
	return &cancelReader{ctx: ctx, r: r, buf: make([]byte, 64<<10)}
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if len(c.rest) == 0 && c.err == nil {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		return n, nil
	}
	return 0, c.err
}

// fill waits for one read of the underlying stream, or for ctx.
func (c *cancelReader) fill() error {
	if err := c.ctx.Err(); err != nil {
		return context.Cause(c.ctx)
	}
	if c.pending == nil {
		ch := make(chan readResult, 1) // the goroutine never waits for us
		buf := c.buf
		go func() {
			n, err := c.r.Read(buf)
			ch <- readResult{n, err}
		}()
		c.pending = ch
	}
	select {
	case res := <-c.pending:
		c.pending = nil
		c.rest, c.err = c.buf[:res.n], res.err
		return nil
	case <-c.ctx.Done():
		// The read in flight still owns c.buf: never start another.
		c.err = context.Cause(c.ctx)
		return c.err
	}
}

// inputKind is what a load's input path names.
type inputKind int

const (
	inputLayout inputKind = iota // a directory
	inputFile                    // a regular file
	inputStream                  // a named pipe or a character device (/dev/stdin)
)

// classifyInput says what src is, without opening it: opening a named pipe
// waits for its writer.
func classifyInput(src string) (inputKind, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return 0, fmt.Errorf("%w: give the path of an OCI layout directory or an image archive, or - for stdin", err)
	}
	switch m := fi.Mode(); {
	case m.IsDir():
		return inputLayout, nil
	case m.IsRegular():
		return inputFile, nil
	case m&(os.ModeNamedPipe|os.ModeCharDevice) != 0:
		return inputStream, nil
	}
	return 0, fmt.Errorf("%s is %s: give an OCI layout directory, an image archive, a pipe, or - for stdin",
		src, fileKind(fi.Sys().(*unix.Stat_t).Mode))
}

// openStream opens a named pipe or device for reading; the open of a pipe
// waits for a writer, so it runs in a goroutine and ends with ctx too (a
// pipe opened after that is closed at once).
func openStream(ctx context.Context, src string) (*os.File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.Open(src)
		ch <- opened{f, err}
	}()
	select {
	case o := <-ch:
		return o.f, o.err
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, fmt.Errorf("waiting for a writer on %s: %w", src, context.Cause(ctx))
	}
}
