// Package rootless runs edgerun as an ordinary user. Each user gets one
// session: a small holder process (session.c) that owns a user namespace,
// a mount namespace and a network namespace. In the user namespace the user
// is root (0) and, when /etc/subuid and /etc/subgid give the user ranges
// and newuidmap/newgidmap are installed, 1..N are the user's subordinate
// IDs; otherwise the user is the only ID (the single-ID mapping).
//
// Every edgerun command an ordinary user runs first enters the session
// (Enter): it makes the holder when there is none, then re-executes itself
// with _EDGERUN_JOIN set, and session.c's constructor moves the new process
// into the holder's user and mount namespaces before the Go runtime
// starts. From there the command is root in the namespace and runs the
// same code as root on the host: overlay mounts, network namespaces and
// libcontainer work as they do for root, within what the user owns.
//
// The session's network namespace holds the rootless bridge; slirp4netns
// joins it to the host's network (see network.go and docs/rootless.md).
//
// It may import internal/atomicfile and internal/lockfile only; the CLI
// (cmd/edgerun) calls it before anything else, and container and doctor
// read its facts (Inside, ReadMapping).
package rootless

/*
#cgo CFLAGS: -Wall -O2
*/
import "C"
