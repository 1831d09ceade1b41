// Package relay is the steady-state monitor of a detached container, in C
// (relay.c; its health probes in probe.c). Once the Go monitor of package
// container has started the container it re-executes the binary with the
// "relay" arguments, and
// relay.c's constructor takes that process over before the Go runtime
// starts: it holds the owner lock, relays the container's output to its
// log in logfile's format, waits for the container and executes the Go
// monitor again to record the exit. An idle monitor so costs about 80 kB
// instead of the Go runtime's megabytes.
//
// The constructor runs in every process of a binary that links this
// package, so only binaries that run monitors import it, for its side
// effect: cmd/edgerun does (import _ "github.com/edgerun/edgerun/relay"),
// as runc keeps nsenter in a package of its own. It has no Go API and
// imports nothing; a binary without it still works, its monitors staying
// in Go.
package relay

/*
#cgo CFLAGS: -Wall -O2
*/
import "C"
