package container

import (
	"errors"

	"github.com/edgerun/edgerun/specgen"
)

// Sentinel errors of the container lifecycle. specgen.ErrInvalidOption (spec
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
	// ErrVolumeInUse: a container, running or stopped, uses the volume.
	ErrVolumeInUse = errors.New("volume is in use")
	// ErrInvalidFilter: a ps --filter is not KEY=VALUE with a known key.
	ErrInvalidFilter = errors.New("invalid filter")
)

// errRecordDamaged: a container's record exists but is empty or corrupt;
// the container is quarantined, never deleted.
var errRecordDamaged = errors.New("damaged container record")

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

// commandError gives a refusal of specgen.CheckCommand docker's exit code:
// 127 for a missing command, 126 for one that cannot be executed, 125 for
// anything else.
func commandError(err error) error {
	switch {
	case errors.Is(err, specgen.ErrCommandNotFound):
		return &ExitError{ExitCommandNotFound, err}
	case errors.Is(err, specgen.ErrCannotInvoke):
		return &ExitError{ExitCannotInvoke, err}
	}
	return &ExitError{ExitRuntimeFailed, err}
}
