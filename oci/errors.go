package oci

import "errors"

var (
	// ErrInvalidBundle: the bundle or its config.json cannot be used.
	ErrInvalidBundle = errors.New("invalid bundle")
	// ErrInvalidID: the container ID is not one the runtime accepts.
	ErrInvalidID = errors.New("invalid container id")
	// ErrInvalidDocument: a process or resources document is malformed.
	ErrInvalidDocument = errors.New("invalid document")
)
