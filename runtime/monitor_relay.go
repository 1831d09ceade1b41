package runtime

// The C monitor (monitor_relay.c) is linked into this package: its
// constructor runs before the Go runtime starts and takes over a monitor
// re-executed with relayArg. See shed and docs/architecture.md (The
// monitor).

/*
#cgo CFLAGS: -Wall -O2
*/
import "C"

import (
	"strconv"
)

// relayArg selects the C monitor; resumeArg the Go one (the C monitor
// executes the Go one with it once the container has exited).
const relayArg = "relay"

// relayArgs are the arguments of the C monitor beyond shed's: where the log
// is and how it rotates.
func (m *monitor) relayArgs() []string {
	return []string{"log=" + m.log.path, "max-size=" + strconv.FormatInt(m.log.maxSize, 10),
		"max-file=" + strconv.Itoa(m.log.maxFile)}
}
