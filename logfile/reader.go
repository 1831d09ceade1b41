package logfile

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"time"
)

// PrintOptions say which lines Print writes, and where (`edgerun logs`).
type PrintOptions struct {
	Follow     bool      // -f: wait for new lines while Writing says so
	Tail       int       // --tail N: only the last N lines; < 0 means all
	Since      time.Time // --since: only lines at or after this time
	Until      time.Time // --until: only lines at or before this time; -f ends there
	Timestamps bool      // -t: prefix each line with its time
	// Details is --details: docker prefixes each line with its log
	// attributes and a space; edgerun's lines have none, so the prefix
	// is the space alone (after -t's time, as docker puts it).
	Details bool
	Stdout  io.Writer
	Stderr  io.Writer
	// Writing says whether a writer may still add lines (with Follow);
	// nil means no.
	Writing func() bool
}

// Line is one parsed line of the log; its slices point into the bytes
// given to ParseLine.
type Line struct {
	Time    []byte // as written: RFC 3339, see TimeFormat
	Stream  []byte // stdout or stderr
	Partial bool   // a P part, continued by the next line of its stream
	Content []byte
}

// ParseLine parses one line of the log without its newline; false means it
// is not in the format (a line torn by a crash).
func ParseLine(b []byte) (Line, bool) {
	ts, rest, ok := bytes.Cut(b, []byte{' '})
	if !ok {
		return Line{}, false
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return Line{}, false
	}
	tag, content, ok := bytes.Cut(rest, []byte{' '})
	if !ok || len(tag) != 1 || (tag[0] != 'F' && tag[0] != 'P') {
		return Line{}, false
	}
	return Line{Time: ts, Stream: stream, Partial: tag[0] == 'P', Content: content}, true
}

// Print writes the lines of the log at path (with its rotations .1 …
// .(maxFile-1), oldest first) to opts.Stdout and opts.Stderr, each to the
// stream it came from. With Follow it goes on printing lines as they are
// written, following rotation, until opts.Writing says no more come or
// ctx ends.
func Print(ctx context.Context, path string, maxFile int, opts PrintOptions) error {
	p := &logPrinter{opts: opts, collect: opts.Tail >= 0}
	for i := max(maxFile, DefaultMaxFile) - 1; i >= 1; i-- {
		if err := p.readFile(path + "." + strconv.Itoa(i)); err != nil {
			return err
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open container log: %w", err)
	}
	defer func() { f.Close() }()
	br := bufio.NewReaderSize(f, 64<<10)
	if err := p.read(br); err != nil {
		return err
	}
	if err := p.flushTail(); err != nil {
		return err
	}
	if !opts.Follow {
		return nil
	}
	return follow(ctx, path, &f, br, p)
}

// follow prints lines as they are written, following rotation, until
// opts.Writing says no more come, or ctx ends.
func follow(ctx context.Context, path string, f **os.File, br *bufio.Reader, p *logPrinter) error {
	for {
		if err := p.read(br); err != nil {
			return err
		}
		if fi, err := os.Stat(path); err == nil {
			if cur, err := (*f).Stat(); err == nil && !os.SameFile(fi, cur) {
				// Rotated: finish the old file, then go on in the new one.
				if err := p.read(br); err != nil {
					return err
				}
				nf, err := os.Open(path)
				if err == nil {
					(*f).Close()
					*f = nf
					br.Reset(nf)
					continue
				}
			}
		}
		if p.opts.Writing == nil || !p.opts.Writing() {
			return p.read(br) // the writer is gone: nothing more comes
		}
		if !p.opts.Until.IsZero() && time.Now().After(p.opts.Until) {
			return p.read(br) // --until has passed: nothing more is wanted
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// logPrinter turns log lines back into the container's output.
type logPrinter struct {
	opts    PrintOptions
	collect bool      // --tail: gather lines into tail until flushTail
	tail    []outLine // the last lines, with --tail: a ring starting at next
	next    int
	raw     []byte    // a log line read only in part (the writer is mid-write)
	partial [2][]byte // per stream: a long line continued by the next P/F line
}

func (p *logPrinter) readFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return p.read(bufio.NewReaderSize(f, 64<<10))
}

// read prints (or gathers, for --tail) every complete line available.
func (p *logPrinter) read(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			p.raw = append(p.raw, line...)
			continue
		}
		if err != nil {
			if len(line) > 0 {
				p.raw = append(p.raw, line...)
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read container log: %w", err)
		}
		if len(p.raw) > 0 {
			line = append(p.raw, line...)
			p.raw = p.raw[:0]
		}
		if err := p.line(line[:len(line)-1]); err != nil {
			return err
		}
	}
}

// line handles one log line: --since, long-line assembly, -t, --tail.
func (p *logPrinter) line(b []byte) error {
	l, ok := ParseLine(b)
	if !ok {
		return nil // a line torn by a crash: skip it
	}
	if !p.opts.Since.IsZero() || !p.opts.Until.IsZero() {
		ts, err := time.Parse(time.RFC3339Nano, string(l.Time))
		if err != nil || ts.Before(p.opts.Since) || (!p.opts.Until.IsZero() && ts.After(p.opts.Until)) {
			return nil
		}
	}
	si := 0
	if string(l.Stream) == "stderr" {
		si = 1
	}
	if l.Partial {
		p.partial[si] = append(p.partial[si], l.Content...)
		return nil
	}
	var out []byte
	if p.opts.Timestamps {
		out = append(append(out, l.Time...), ' ')
	}
	if p.opts.Details {
		out = append(out, ' ')
	}
	out = append(append(append(out, p.partial[si]...), l.Content...), '\n')
	p.partial[si] = p.partial[si][:0]
	ol := outLine{stderr: si == 1, b: out}
	switch {
	case !p.collect:
		return p.write(ol)
	case p.opts.Tail == 0:
	case len(p.tail) < p.opts.Tail:
		p.tail = append(p.tail, ol)
	default:
		p.tail[p.next] = ol
		p.next = (p.next + 1) % len(p.tail)
	}
	return nil
}

// outLine is one line of output and the stream it goes to.
type outLine struct {
	stderr bool
	b      []byte
}

func (p *logPrinter) write(l outLine) error {
	w := p.opts.Stdout
	if l.stderr {
		w = p.opts.Stderr
	}
	_, err := w.Write(l.b)
	return err
}

// flushTail prints the lines gathered for --tail; later lines print at once.
func (p *logPrinter) flushTail() error {
	p.collect = false
	for i := range p.tail {
		if err := p.write(p.tail[(p.next+i)%len(p.tail)]); err != nil {
			return err
		}
	}
	p.tail = nil
	return nil
}
