package specgen

import (
	"errors"
	"fmt"
)

// Sentinel errors of spec generation and the command check.
var (
	// ErrInvalidOption is wrapped by every error about a run option (flag
	// or image setting) that GenerateSpec refuses.
	ErrInvalidOption = errors.New("invalid run option")
	// ErrCommandNotFound: the command, or its script's interpreter, is
	// not in the container's view (docker exits 127).
	ErrCommandNotFound = errors.New("command not found")
	// ErrCannotInvoke: the command exists but cannot be executed
	// (docker exits 126).
	ErrCannotInvoke = errors.New("command cannot be invoked")
)

// commandError is a refusal of CheckCommand: its text says what is wrong
// with the command, and errors.Is matches its kind (ErrCommandNotFound or
// ErrCannotInvoke) without the kind's text in the message.
type commandError struct {
	kind, err error
}

func (e *commandError) Error() string   { return e.err.Error() }
func (e *commandError) Unwrap() []error { return []error{e.kind, e.err} }

func notFound(format string, a ...any) error {
	return &commandError{ErrCommandNotFound, fmt.Errorf(format, a...)}
}

func cannotInvoke(format string, a ...any) error {
	return &commandError{ErrCannotInvoke, fmt.Errorf(format, a...)}
}
