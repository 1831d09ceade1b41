// Package logfile owns the log of a detached container: the CRI line format
// (the one containerd, CRI-O and the kubelet write), a Writer that caps the
// file's size and rotates it, and Print, which turns the lines back into the
// container's output (--tail, --since, -t, -f across rotations). The C
// monitor (package relay) writes the same format; relay's tests hold it to
// this package's writer. It also parses docker's --log-opt settings.
// logfile knows nothing of containers: the caller names the file and says
// whether anyone still writes it. It imports no package of this module.
package logfile

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// Container logs use the CRI line format (containerd, CRI-O, kubelet):
//
//	2026-11-30T16:20:07.123456789Z stdout F the line
//
// a timestamp, the stream, F for a full line or P for a partial one (a
// line longer than LineMax is cut into P parts ended by an F part), and
// the content without its newline. The file is capped at
// max-size bytes and rotated to .1 … .(max-file-1); it is written with one
// write(2) per chunk read from the container, never fsynced per line (SD
// cards): a power cut loses at most the page cache's last seconds.

const (
	// LineMax is the longest content of one log line; longer lines are
	// cut into P parts of exactly LineMax bytes.
	LineMax = 16 << 10
	// TimeFormat is the lines' timestamp: RFC 3339 in UTC with nine
	// digits of nanoseconds.
	TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"
	// DefaultMaxSize and DefaultMaxFile are the size cap of one file and
	// the number of files (the current one and its rotations) kept.
	DefaultMaxSize = 5 << 20
	DefaultMaxFile = 3
)

// Writer appends formatted lines to a size-capped, rotated log. It is safe
// for use by several goroutines (one per stream).
type Writer struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	size    int64
	maxSize int64
	maxFile int
	buf     []byte
}

// Open opens the log at path for appending, creating it when missing;
// maxSize <= 0 means DefaultMaxSize and DefaultMaxFile.
func Open(path string, maxSize int64, maxFile int) (*Writer, error) {
	if maxSize <= 0 {
		maxSize, maxFile = DefaultMaxSize, DefaultMaxFile
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open container log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open container log: %w", err)
	}
	return &Writer{path: path, f: f, size: fi.Size(), maxSize: maxSize, maxFile: maxFile}, nil
}

// Path, MaxSize and MaxFile are the settings the log was opened with.
func (w *Writer) Path() string   { return w.path }
func (w *Writer) MaxSize() int64 { return w.maxSize }
func (w *Writer) MaxFile() int   { return w.maxFile }

// WriteLines logs complete lines (without their newlines; partial marks
// the last one as P) of one stream with one write.
func (w *Writer) WriteLines(stream string, lines [][]byte, partial bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ts := time.Now().UTC().Format(TimeFormat)
	w.buf = w.buf[:0]
	for i, l := range lines {
		tag := " F "
		if partial && i == len(lines)-1 {
			tag = " P "
		}
		w.buf = append(w.buf, ts...)
		w.buf = append(w.buf, ' ')
		w.buf = append(w.buf, stream...)
		w.buf = append(w.buf, tag...)
		w.buf = append(w.buf, l...)
		w.buf = append(w.buf, '\n')
	}
	if w.size > 0 && w.size+int64(len(w.buf)) > w.maxSize {
		w.rotate()
	}
	if w.f == nil {
		return
	}
	n, _ := w.f.Write(w.buf)
	w.size += int64(n)
	if cap(w.buf) > 2*LineMax+256 {
		w.buf = nil // do not keep a burst's buffer for the container's life
	}
}

// rotate shifts the log → .1 → .2 …, dropping the oldest.
func (w *Writer) rotate() {
	w.f.Close()
	w.f = nil
	if w.maxFile <= 1 {
		os.Remove(w.path)
	} else {
		os.Remove(w.path + "." + strconv.Itoa(w.maxFile-1))
		for i := w.maxFile - 2; i >= 1; i-- {
			_ = os.Rename(w.path+"."+strconv.Itoa(i), w.path+"."+strconv.Itoa(i+1)) // a gap is no harm
		}
		_ = os.Rename(w.path, w.path+".1") // if it fails, the log is truncated below
	}
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_TRUNC, 0o600)
	if err != nil {
		return // the log is lost until the next rotation; the container runs on
	}
	w.f, w.size = f, 0
}

func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// CopyStream reads one of the container's streams until EOF and logs it
// line by line.
func (w *Writer) CopyStream(stream string, f *os.File) {
	buf := make([]byte, 8<<10)
	var pending []byte // a line not yet ended
	var lines [][]byte
	for {
		n, err := f.Read(buf)
		data := buf[:n]
		lines = lines[:0]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				pending = append(pending, data...)
				break
			}
			if len(pending) > 0 {
				lines = append(lines, append(pending, data[:i]...))
				pending = nil
			} else {
				lines = append(lines, data[:i])
			}
			data = data[i+1:]
		}
		if len(lines) > 0 {
			w.WriteLines(stream, lines, false)
		}
		for len(pending) >= LineMax {
			w.WriteLines(stream, [][]byte{pending[:LineMax]}, true)
			pending = append([]byte(nil), pending[LineMax:]...)
		}
		if err != nil {
			if len(pending) > 0 {
				// The last bytes without a newline: logged as a full line.
				w.WriteLines(stream, [][]byte{pending}, false)
			}
			return
		}
	}
}
