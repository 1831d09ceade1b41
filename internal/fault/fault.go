// Package fault owns edgerun's named fault points, the hooks of the proof
// suite (make test-reliability, e2e/reliability): Point(name) kills the
// process with SIGKILL when the environment variable EDGERUN_FAULT names
// that point, so a test can stop edgerun at an exact step the way a power
// loss stops a process: no deferred function runs, no lock is released by
// hand, nothing buffered is written.
//
// The environment is read once, when the package is initialised; an
// unarmed Point is then one comparison (BenchmarkPointUnarmed: under a
// nanosecond), so the points stay in the normal build without a build tag.
// Every point is listed in points.go with what a crash there leaves; a
// test holds that list to the Point calls of the module.
//
// It imports only the standard library, never a package of this module, so
// every layer can call it.
package fault

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Env names the point to stop at: NAME, or NAME@N to stop at its N-th hit
// in a process (the first is 1).
const Env = "EDGERUN_FAULT"

// LogEnv names a file to which the process appends "NAME PID\n" just
// before it kills itself at a point: a monitor has no stderr to say so,
// and the suite must know which point fired, in which process.
const LogEnv = "EDGERUN_FAULT_LOG"

// target is the armed point of this process.
type target struct {
	name string
	n    int64 // the hit to stop at
	log  string
	hits atomic.Int64
}

// armed is read from the environment once, at package initialisation: the
// processes of one command (the CLI, a monitor re-executed as the C relay
// and back) all carry the same environment. nil when nothing is armed.
var armed = parse(os.Getenv(Env), os.Getenv(LogEnv))

// parse reads Env's value; an empty or malformed one arms nothing.
func parse(v, log string) *target {
	if v == "" {
		return nil
	}
	name, nth, found := strings.Cut(v, "@")
	n := int64(1)
	if found {
		var err error
		if n, err = strconv.ParseInt(nth, 10, 64); err != nil || n < 1 {
			return nil
		}
	}
	if name == "" {
		return nil
	}
	return &target{name: name, n: n, log: log}
}

// Point is a named step of an operation. When EDGERUN_FAULT names it (and
// this is the hit it asks for), the process kills itself with SIGKILL here
// and never returns; otherwise Point does nothing. name must be one of the
// points listed in points.go.
func Point(name string) {
	if armed != nil && armed.name == name {
		armed.hit()
	}
}

func (t *target) hit() {
	if t.hits.Add(1) != t.n {
		return
	}
	if t.log != "" {
		if f, err := os.OpenFile(t.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
			_, _ = f.WriteString(t.name + " " + strconv.Itoa(os.Getpid()) + "\n")
			_ = f.Close()
		}
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	for {
		time.Sleep(time.Second) // SIGKILL to oneself is delivered at once
	}
}
