package image

import "errors"

var (
	// ErrNotFound is returned when no image matches a name, digest or ID.
	ErrNotFound = errors.New("image not found")
	// ErrAmbiguous is returned when a short ID matches more than one image.
	ErrAmbiguous = errors.New("image ID prefix is ambiguous")
	// ErrInUse is returned by Remove when a container still uses the image.
	ErrInUse = errors.New("image is in use")
	// ErrNamed is returned by Remove with Unnamed when the image has a
	// name (it got one after the caller looked).
	ErrNamed = errors.New("image has a name")
	// ErrInvalidImage is returned for input that is not a valid image:
	// bad JSON, wrong media types, missing blobs, inconsistent configs.
	ErrInvalidImage = errors.New("invalid image")
	// ErrDigestMismatch is returned when content does not hash to the
	// digest (or size) it was announced with.
	ErrDigestMismatch = errors.New("content does not match its digest")
	// ErrTooLarge is returned when a manifest, index or config exceeds the
	// JSON size cap.
	ErrTooLarge = errors.New("JSON document is too large")
	// ErrNoMatchingPlatform is returned when an image index has no manifest
	// for the wanted platform.
	ErrNoMatchingPlatform = errors.New("no manifest for the wanted platform")
	// ErrUnknownFormat is returned when Load cannot tell what the input is.
	ErrUnknownFormat = errors.New("input is not an OCI layout, OCI archive or docker-save archive")
	// ErrBlobNotFound is returned by OpenBlob for a digest the store lacks.
	ErrBlobNotFound = errors.New("blob not found")
	// ErrRegistry is returned when a registry cannot be reached or answers
	// with an error.
	ErrRegistry = errors.New("registry error")
	// ErrUnauthorized is returned for 401 and 403 answers.
	ErrUnauthorized = errors.New("registry refused access")
	// ErrClock is returned when TLS fails because the system clock is wrong.
	ErrClock = errors.New("system clock is wrong")
	// ErrNoSpace is returned when a pull would not fit on the disk.
	ErrNoSpace = errors.New("not enough disk space")
)
