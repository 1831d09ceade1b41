// Package restart holds the rules that decide whether a detached container
// that ended runs again: the restart policies of `run --restart` (no,
// on-failure[:max], always, unless-stopped), which of them `edgerun boot`
// starts, and the backoff between restarts. The container's monitor and
// boot apply them; this package only decides. It is pure Go and imports
// nothing of this module, so its tests run on every architecture.
package restart

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Policy names.
const (
	No            = "no"
	OnFailure     = "on-failure"
	Always        = "always"
	UnlessStopped = "unless-stopped"
)

// Policy is a parsed --restart value.
type Policy struct {
	Name string
	Max  int // on-failure only; 0 means no limit
}

// Parse parses no, on-failure[:max], always, unless-stopped; "" is no.
func Parse(s string) (Policy, error) {
	name, max, hasMax := strings.Cut(s, ":")
	switch name {
	case "", No, Always, UnlessStopped:
		if hasMax {
			return Policy{}, fmt.Errorf("--restart %s: only on-failure takes a maximum (on-failure:3)", s)
		}
		if name == "" {
			name = No
		}
		return Policy{Name: name}, nil
	case OnFailure:
		p := Policy{Name: name}
		if hasMax {
			n, err := strconv.Atoi(max)
			if err != nil || n < 0 {
				return Policy{}, fmt.Errorf("--restart %s: the maximum must be a number >= 0", s)
			}
			p.Max = n
		}
		return p, nil
	}
	return Policy{}, fmt.Errorf("--restart %q: use no, on-failure[:max], always or unless-stopped", s)
}

// ShouldRestart decides whether a container that ended with code restarts.
// restarts is how many times its monitor has restarted it already.
func (p Policy) ShouldRestart(code, restarts int, stoppedByUser bool) bool {
	if stoppedByUser {
		return false
	}
	switch p.Name {
	case Always, UnlessStopped:
		return true
	case OnFailure:
		return code != 0 && (p.Max == 0 || restarts < p.Max)
	}
	return false
}

// StartsAtBoot says whether `edgerun boot` starts a container.
func (p Policy) StartsAtBoot(stoppedByUser bool) bool {
	return p.Name == Always || (p.Name == UnlessStopped && !stoppedByUser)
}

// Backoff between restarts: the delay doubles from BackoffMin up to
// BackoffMax, and starts again from BackoffMin once a container ran for
// BackoffReset.
const (
	BackoffMin   = 100 * time.Millisecond
	BackoffMax   = time.Minute
	BackoffReset = 10 * time.Second
)

// NextBackoff is the delay before the next restart, given the last one and
// how long the container ran.
func NextBackoff(last, ran time.Duration) time.Duration {
	if last == 0 || ran >= BackoffReset {
		return BackoffMin
	}
	return min(last*2, BackoffMax)
}
