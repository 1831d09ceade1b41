package health

import (
	"fmt"
	"time"
)

// The statuses of a container with a health check, as docker names them.
const (
	Starting  = "starting"
	Healthy   = "healthy"
	Unhealthy = "unhealthy"
)

// LogMax is how many probe results a state keeps, OutputMax how many
// bytes of a probe's output (docker's numbers).
const (
	LogMax    = 5
	OutputMax = 4096
)

// Result is one probe.
type Result struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	ExitCode int       `json:"exitCode"`
	Output   string    `json:"output"`
}

// State is where a container's health stands.
type State struct {
	Status        string   `json:"status"`
	FailingStreak int      `json:"failingStreak"`
	Log           []Result `json:"log"`
}

// New is the state of a container that has just started: starting, with
// the previous run's results kept for who wants to know why it ended.
func New(prev *State) *State {
	s := &State{Status: Starting, Log: []Result{}}
	if prev != nil {
		s.Log = append(s.Log, prev.Log...)
	}
	return s
}

// TimeoutResult is the result of a probe that ran out of time.
func TimeoutResult(start, end time.Time, timeout time.Duration) Result {
	return Result{Start: start, End: end, ExitCode: -1,
		Output: fmt.Sprintf("Health check exceeded timeout (%v)", timeout)}
}

// Record adds a probe's result, as docker does: a success makes the
// container healthy and ends the failing streak; a failure lengthens the
// streak, except while the container is still starting within its start
// period, and makes it unhealthy once the streak reaches the retries.
// started is when the container started.
func (s *State) Record(res Result, c *Config, started time.Time) {
	if len(res.Output) > OutputMax {
		res.Output = res.Output[:OutputMax]
	}
	s.Log = append(s.Log, res)
	if len(s.Log) > LogMax {
		s.Log = append([]Result(nil), s.Log[len(s.Log)-LogMax:]...)
	}
	if res.ExitCode == 0 {
		s.Status, s.FailingStreak = Healthy, 0
		return
	}
	if s.Status == Starting && res.Start.Sub(started) < c.StartPeriod {
		return
	}
	s.FailingStreak++
	if s.FailingStreak >= c.Retries {
		s.Status = Unhealthy
	}
}

// Next is the delay before the next probe: the start interval while the
// container is starting within its start period, the interval otherwise.
// since is how long ago the container started.
func (c *Config) Next(status string, since time.Duration) time.Duration {
	if status == Starting && since < c.StartPeriod {
		return c.StartInterval
	}
	return c.Interval
}

// Summary is the word ps shows after "Up 3 minutes": (healthy),
// (unhealthy) or (health: starting).
func (s *State) Summary() string {
	if s == nil {
		return ""
	}
	if s.Status == Starting {
		return "(health: starting)"
	}
	return "(" + s.Status + ")"
}
