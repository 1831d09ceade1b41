package compose

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrInvalid: the service file is malformed or breaks a rule of the
	// format. Every error of Load and Parse about the file matches it.
	ErrInvalid = errors.New("invalid service file")
	// ErrUnsupported: the file uses a key or value of the Compose format
	// that edgerun apply does not implement. It also matches ErrInvalid.
	ErrUnsupported = errors.New("not supported by edgerun apply")
	// ErrTooLarge: the file is over MaxFileSize, or expands through YAML
	// aliases to more than MaxNodes values. It also matches ErrInvalid.
	ErrTooLarge = errors.New("service file too large")
)

// Error is a problem at one place of the service file.
type Error struct {
	File   string // the file's name as given to Load or Parse
	Line   int    // 1-based; 0 when the problem is the file as a whole
	Column int    // 1-based; 0 when unknown
	Path   string // the key path, like services.web.ports[1]; "" at the top
	Msg    string // what is wrong, lowercase
	Err    error  // ErrInvalid, ErrUnsupported or ErrTooLarge
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Path != "" {
		b.WriteString(": " + e.Path)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

// Unwrap returns the error's kind.
func (e *Error) Unwrap() error { return e.Err }

// Is makes every Error match ErrInvalid, whatever its kind.
func (e *Error) Is(target error) bool { return target == ErrInvalid }
