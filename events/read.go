package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Query selects events.
type Query struct {
	// Since and Until bound the events' times, both included (zero: no
	// bound).
	Since, Until time.Time
	// Filter selects events by what they are about (nil: all).
	Filter *Filter
}

// Read calls fn with the events q selects, oldest first, by docker's rules
// for `docker events`: the journal's past events only when q gives Since
// or Until; then, unless Until has passed, the events appended from now
// on, as they come, until ctx ends or Until passes. It returns fn's first
// error; ctx ending is not an error.
func (j *Journal) Read(ctx context.Context, q Query, fn func(Message) error) error {
	now := j.opts.Now()
	past := !q.Since.IsZero() || !q.Until.IsZero()
	t := &tailer{j: j, q: q, fn: fn, buf: make([]byte, 64<<10)}
	defer t.close()
	if !q.Until.IsZero() && !q.Until.After(now) {
		t.startAtOldest()
		return t.drain()
	}
	// Where to start is fixed first, the watch set up next, and the first
	// drain reads everything from that start: nothing appended meanwhile
	// is missed.
	if past {
		t.startAtOldest()
	} else {
		t.startAtEnd()
	}
	w := j.watch()
	defer w.close()
	var until <-chan time.Time
	if !q.Until.IsZero() {
		timer := time.NewTimer(q.Until.Sub(now))
		defer timer.Stop()
		until = timer.C
	}
	for {
		if err := t.drain(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-until:
			return t.drain()
		case <-w.changed:
		case <-w.tick.C:
		}
	}
}

// tailer reads the journal's files in order, across rotations.
type tailer struct {
	j  *Journal
	q  Query
	fn func(Message) error

	f        *os.File    // the file being read, nil before there is one
	st       unix.Stat_t // f's identity
	buf      []byte
	partial  []byte // the start of a line whose end has not been read
	skipping bool   // inside a line longer than MaxLine: drop it
}

// startAtOldest reads from the start of the previous file, else of the
// current one.
func (t *tailer) startAtOldest() {
	if !t.open(t.j.previous(), false) {
		t.open(t.j.current(), false)
	}
}

// startAtEnd reads what is appended to the current file from now on.
func (t *tailer) startAtEnd() { t.open(t.j.current(), true) }

// open makes path the file read, from its start or its end; false when
// there is no such file.
func (t *tailer) open(path string, atEnd bool) bool {
	t.close()
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	if unix.Fstat(int(f.Fd()), &t.st) != nil {
		f.Close()
		return false
	}
	if atEnd {
		if _, err := f.Seek(0, io.SeekEnd); err != nil {
			f.Close()
			return false
		}
	}
	t.f = f
	return true
}

// close forgets the file read, and a line it left unfinished (torn by a
// crash: a rotated file gets no more appends).
func (t *tailer) close() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
	t.partial, t.skipping = t.partial[:0], false
}

// drain reads every complete line there is, following rotations, and
// returns at the end of the current file (or when there is none yet).
func (t *tailer) drain() error {
	for {
		if t.f == nil && !t.open(t.j.current(), false) {
			return nil
		}
		if err := t.readToEnd(); err != nil {
			return err
		}
		var cur unix.Stat_t
		curErr := unix.Stat(t.j.current(), &cur)
		if curErr == nil && sameFile(&cur, &t.st) {
			return nil // the end of the current file: wait for more
		}
		// The file was rotated out. Appends check under their lock that
		// they write to the current file, so nothing reaches this one
		// any more: read its last lines, then go on with its successor.
		if err := t.readToEnd(); err != nil {
			return err
		}
		done := t.st
		t.close()
		// Rotated twice: the previous file is newer than the one read.
		var prev unix.Stat_t
		if unix.Stat(t.j.previous(), &prev) == nil && !sameFile(&prev, &done) &&
			(curErr != nil || !sameFile(&prev, &cur)) {
			t.open(t.j.previous(), false)
		}
	}
}

// readToEnd reads the file to its current end, emitting complete lines.
func (t *tailer) readToEnd() error {
	for {
		n, err := t.f.Read(t.buf)
		if n > 0 {
			if err := t.feed(t.buf[:n]); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) || n == 0 && err == nil {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// feed splits data into lines and emits each complete one; the end of a
// line not written yet (an append in flight) waits in t.partial.
func (t *tailer) feed(data []byte) error {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if !t.skipping {
				t.partial = append(t.partial, data...)
				if len(t.partial) > MaxLine {
					t.partial, t.skipping = t.partial[:0], true
				}
			}
			return nil
		}
		line := data[:i]
		data = data[i+1:]
		if t.skipping {
			t.skipping = false
			continue
		}
		if len(t.partial) > 0 {
			line = append(t.partial, line...)
			t.partial = t.partial[:0]
		}
		if len(line) > MaxLine {
			continue
		}
		if err := t.emit(line); err != nil {
			return err
		}
	}
	return nil
}

// emit passes one line's event to fn when the query selects it. A line
// that is not an event (torn by a power cut) is skipped.
func (t *tailer) emit(line []byte) error {
	m, ok := parseLine(line)
	if !ok || !t.q.selects(m) {
		return nil
	}
	return t.fn(m)
}

// parseLine reads one journal line; false for anything but an event.
func parseLine(line []byte) (Message, bool) {
	line = trimLine(line)
	var m Message
	if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &m) != nil || m.Type == "" || m.Action == "" {
		return Message{}, false
	}
	if m.Actor.Attributes == nil {
		m.Actor.Attributes = map[string]string{}
	}
	return m, true
}

// selects says whether m is within the query's times and filter.
func (q *Query) selects(m Message) bool {
	if !q.Since.IsZero() && m.TimeNano < q.Since.UnixNano() {
		return false
	}
	if !q.Until.IsZero() && m.TimeNano > q.Until.UnixNano() {
		return false
	}
	return q.Filter.Match(m)
}

// watcher wakes a follower when the journal's directory changes: a line
// appended, a file created or renamed. A tick backs it up (inotify may be
// out of watches, or its queue overflow).
type watcher struct {
	fd      *os.File
	changed chan struct{}
	tick    *time.Ticker
}

func (j *Journal) watch() *watcher {
	w := &watcher{changed: make(chan struct{}, 1), tick: time.NewTicker(time.Second)}
	// The directory must exist to be watched; it is the journal's own.
	if err := os.MkdirAll(j.dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		w.tick.Reset(250 * time.Millisecond)
		return w
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		w.tick.Reset(250 * time.Millisecond)
		return w
	}
	mask := uint32(unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM)
	if _, err := unix.InotifyAddWatch(fd, j.dir, mask); err != nil {
		unix.Close(fd)
		w.tick.Reset(250 * time.Millisecond)
		return w
	}
	// Non-blocking, so the file is in Go's poller and close ends the read.
	w.fd = os.NewFile(uintptr(fd), "inotify")
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := w.fd.Read(buf); err != nil {
				return // closed
			}
			select {
			case w.changed <- struct{}{}:
			default:
			}
		}
	}()
	return w
}

func (w *watcher) close() {
	w.tick.Stop()
	if w.fd != nil {
		w.fd.Close()
	}
}
