package runtime

import "errors"

// Sentinel errors of the container lifecycle. ErrInvalidOption (spec
// generation) lives in spec_errors.go.
var (
	// ErrNameInUse: a container name is already taken.
	ErrNameInUse = errors.New("container name in use")
	// ErrNoSuchContainer: no container has that name or ID prefix.
	ErrNoSuchContainer = errors.New("no such container")
	// ErrAmbiguousID: an ID prefix matches several containers.
	ErrAmbiguousID = errors.New("ambiguous container ID prefix")
	// ErrContainerRunning: the operation needs a stopped container.
	ErrContainerRunning = errors.New("container is running")
	// ErrNotRunning: the operation needs a running container.
	ErrNotRunning = errors.New("container is not running")
)

// ExitError is an error with the process exit code edgerun should use:
// 125 when edgerun itself failed, 126 when the command cannot be invoked,
// 127 when it was not found, like docker.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exit codes edgerun uses for its own failures, as docker does.
const (
	ExitRuntimeFailed   = 125
	ExitCannotInvoke    = 126
	ExitCommandNotFound = 127
)
