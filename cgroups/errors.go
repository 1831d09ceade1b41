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
	// ErrUnsupportedLimit is wrapped when a limit flag asks for what the
	// kernel, or this host's cgroup version, has no way to do
	// (--kernel-memory anywhere, --oom-kill-disable on cgroup v2).
	ErrUnsupportedLimit = errors.New("limit not supported")
	// ErrNoCgroups is returned by Detect when no cgroup file system is mounted.
	ErrNoCgroups = errors.New("no cgroup file system mounted")
)
