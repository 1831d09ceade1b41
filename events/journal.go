package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	dirName  = "events"
	fileName = "events.log"   // the file appends go to
	oldName  = "events.log.1" // the file before it: rotation renames the first over this one

	// DefaultMaxSize is the size past which the journal rotates: the
	// journal is at most two such files (plus the last appends that
	// crossed the bound), about 3,000 container events each.
	DefaultMaxSize = 1 << 20

	// MaxLine bounds one event's line. An event with bigger attributes
	// (labels) is written with its attribute values cut; readers skip
	// longer lines (garbage left by a crash).
	MaxLine = 16 << 10

	// lockWait bounds how long an append waits while a rotation holds
	// the journal (a rotation is one rename: microseconds); past it the
	// event is dropped with a warning rather than delay the operation.
	lockWait = time.Second
)

// Options configure a Journal. The zero value is the defaults.
type Options struct {
	// MaxSize is the size of a file past which the journal rotates
	// (0: DefaultMaxSize).
	MaxSize int64
	// Warn receives the first error of an append (nil: dropped). Appends
	// never fail the caller: the journal is a record, not a step.
	Warn func(error)
	// Now is the clock (nil: time.Now); tests set it.
	Now func() time.Time
}

// Journal is the event journal of one persistent root. A nil *Journal
// records nothing (OCI runtime face, tests).
type Journal struct {
	dir    string
	opts   Options
	warned atomic.Bool
}

// Open returns the journal under root (<root>/events); nothing is created
// until the first event is appended.
func Open(root string, opts Options) *Journal {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Journal{dir: filepath.Join(root, dirName), opts: opts}
}

// Dir is the journal's directory.
func (j *Journal) Dir() string { return j.dir }

func (j *Journal) current() string  { return filepath.Join(j.dir, fileName) }
func (j *Journal) previous() string { return filepath.Join(j.dir, oldName) }

// Append records m, stamped with the time now. It never fails: an error
// goes to Options.Warn, once per Journal.
func (j *Journal) Append(m Message) {
	if j == nil {
		return
	}
	now := j.opts.Now()
	m.Time, m.TimeNano = now.Unix(), now.UnixNano()
	line, err := encode(m)
	if err == nil {
		err = j.appendLine(line)
	}
	if err != nil && j.opts.Warn != nil && j.warned.CompareAndSwap(false, true) {
		j.opts.Warn(fmt.Errorf("event journal %s: %w (the operation itself went on)", j.dir, err))
	}
}

// encode is m's line, newline included, at most MaxLine bytes.
func encode(m Message) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b)+1 > MaxLine {
		// Cut every attribute value, keeping the event itself; then, if
		// that is not enough, every attribute but the name.
		short := make(map[string]string, len(m.Actor.Attributes))
		for k, v := range m.Actor.Attributes {
			short[k] = cut(v, 256)
		}
		m.Actor.Attributes = short
		if b, err = json.Marshal(m); err == nil && len(b)+1 > MaxLine {
			m.Actor.Attributes = map[string]string{"name": short["name"]}
			m.Actor.ID, m.ID, m.From = cut(m.Actor.ID, 256), cut(m.ID, 256), cut(m.From, 256)
			m.Action, m.Status = cut(m.Action, 1024), cut(m.Status, 1024)
			b, err = json.Marshal(m)
		}
		if err != nil {
			return nil, err
		}
	}
	return append(b, '\n'), nil
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// appendLine writes one line with a single write(2) on an O_APPEND
// descriptor, under an exclusive flock of the file: appends of concurrent
// processes never interleave, and the append that takes the file past the
// bound rotates it while it still holds the lock, so the journal never
// grows past two files (an append finds that the path names another file
// once it has the lock, and starts over on it). The lock is held for one
// small write: microseconds, so exclusive costs nothing, and a rotation
// cannot be starved by appenders as one behind shared locks could.
func (j *Journal) appendLine(line []byte) error {
	deadline := time.Now().Add(lockWait)
	for time.Now().Before(deadline) {
		f, err := os.OpenFile(j.current(), os.O_RDWR|os.O_APPEND|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if errors.Is(err, fs.ErrNotExist) {
			if err = os.MkdirAll(j.dir, 0o700); err == nil {
				continue
			}
		}
		if err != nil {
			return err
		}
		ok, err := j.writeLocked(f, line)
		f.Close() // releases the lock
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		// rotated between open and lock: start over on the new file
	}
	return errors.New("the journal kept rotating under this append")
}

// writeLocked writes line to f under an exclusive lock, if f is still the
// journal's current file, and rotates it when it has reached the bound.
func (j *Journal) writeLocked(f *os.File, line []byte) (bool, error) {
	if err := lockWithin(f, unix.LOCK_EX, lockWait); err != nil {
		return false, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return false, err
	}
	if !j.isCurrent(&st) {
		return false, nil
	}
	// A power cut can leave the last line torn (or a run of zeros where
	// the file system had not written it yet): start on a line of our own.
	if st.Size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size-1); err == nil && last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	n, err := f.Write(line)
	if err != nil {
		return true, err
	}
	if st.Size+int64(n) >= j.opts.MaxSize {
		// Still under the lock: nobody writes to the file renamed away.
		_ = os.Rename(j.current(), j.previous())
	}
	return true, nil
}

// isCurrent says whether st is the file at the journal's current path.
func (j *Journal) isCurrent(st *unix.Stat_t) bool {
	var cur unix.Stat_t
	return unix.Stat(j.current(), &cur) == nil && sameFile(&cur, st)
}

// lockWithin takes a flock, retrying while it is held, for at most d.
func lockWithin(f *os.File, how int, d time.Duration) error {
	deadline := time.Now().Add(d)
	delay := 50 * time.Microsecond
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case err == unix.EINTR:
			continue
		case err != unix.EWOULDBLOCK:
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		case time.Now().After(deadline):
			return fmt.Errorf("lock %s: held for more than %v by another process", f.Name(), d)
		}
		time.Sleep(delay)
		delay = min(2*delay, 10*time.Millisecond)
	}
}

// sameFile says whether a and b are one file.
func sameFile(a, b *unix.Stat_t) bool { return a.Dev == b.Dev && a.Ino == b.Ino }

// trimLine is a line without its newline and the zeros a power cut can
// leave where the file system had not written data yet.
func trimLine(b []byte) []byte {
	return bytes.Trim(b, "\x00\r\n")
}
