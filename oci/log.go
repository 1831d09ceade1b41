package oci

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
)

// Log formats of --log-format.
const (
	LogText = "text"
	LogJSON = "json"
)

// Logger writes the runtime's log lines to --log in the form engines read
// back: with LogJSON one object per line, {"level","msg","time"}, the
// last "level":"error" line being what containerd shows its user; with
// LogText logfmt's time="..." level=... msg="...".
type Logger struct {
	mu     sync.Mutex
	w      io.Writer
	format string
	now    func() time.Time
}

// NewLogger writes lines of format (LogText or LogJSON) to w.
func NewLogger(w io.Writer, format string) (*Logger, error) {
	switch format {
	case "", LogText:
		format = LogText
	case LogJSON:
	default:
		return nil, fmt.Errorf("unknown log format %q: use text or json", format)
	}
	return &Logger{w: w, format: format, now: time.Now}, nil
}

// Format is LogText or LogJSON.
func (l *Logger) Format() string { return l.format }

// Log writes one line at level (error, warning, info, debug).
func (l *Logger) Log(level, msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now().Format(time.RFC3339Nano)
	var line []byte
	if l.format == LogJSON {
		line, _ = json.Marshal(struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}{level, msg, t})
	} else {
		line = []byte("time=" + strconv.Quote(t) + " level=" + level + " msg=" + strconv.Quote(msg))
	}
	_, _ = l.w.Write(append(line, '\n'))
}
