// Package cgroups parses and validates docker-style resource limits and
// detects how cgroups are laid out on the host (v1, v2 unified or hybrid,
// and which controllers the kernel has enabled).
package cgroups

import "errors"

var (
	// ErrInvalidLimit is wrapped by every error about a malformed or
	// out-of-range limit flag.
	ErrInvalidLimit = errors.New("invalid limit")
	// ErrControllerUnavailable is wrapped when a limit needs a cgroup
	// controller that the host kernel does not provide.
	ErrControllerUnavailable = errors.New("cgroup controller unavailable")
	// ErrNoCgroups is returned by Detect when no cgroup file system is mounted.
	ErrNoCgroups = errors.New("no cgroup file system mounted")
)
