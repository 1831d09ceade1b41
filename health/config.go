// Package health holds the rules of container health checks, as docker
// defines them: the check's configuration (the image's HEALTHCHECK merged
// with the --health-* flags), the state a series of probes leads to
// (starting, healthy, unhealthy, the failing streak, the last five results)
// and the delay before the next probe. The container's monitor runs the
// probes and applies --health-on-failure; this package only decides. It is
// pure Go and imports nothing of this module, so its tests run on every
// architecture.
package health

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalid marks a health option that cannot be used.
var ErrInvalid = errors.New("invalid health check")

// Docker's defaults.
const (
	DefaultInterval      = 30 * time.Second
	DefaultTimeout       = 30 * time.Second
	DefaultStartInterval = 5 * time.Second
	DefaultRetries       = 3
	// MinInterval bounds every duration of a check from below: a probe
	// starts a process of edgerun and one in the container, so a gateway
	// is not to be flooded with them.
	MinInterval = 100 * time.Millisecond
)

// Config is a container's health check, with every default filled in.
type Config struct {
	// Test is the command: its first word is CMD (run the rest) or
	// CMD-SHELL (run the rest with /bin/sh -c).
	Test          []string      `json:"test"`
	Interval      time.Duration `json:"interval"`
	Timeout       time.Duration `json:"timeout"`
	StartPeriod   time.Duration `json:"startPeriod,omitempty"`
	StartInterval time.Duration `json:"startInterval"`
	Retries       int           `json:"retries"`
	// OnFailure is what the monitor does once the container is unhealthy:
	// none, kill, restart or stop (podman's --health-on-failure).
	OnFailure string `json:"onFailure,omitempty"`
}

// The actions of --health-on-failure.
const (
	ActionNone    = "none"
	ActionKill    = "kill"
	ActionRestart = "restart"
	ActionStop    = "stop"
)

// Image is the HEALTHCHECK of an image config, as docker writes it (the
// durations in nanoseconds, zero meaning "the default").
type Image struct {
	Test          []string      `json:"Test,omitempty"`
	Interval      time.Duration `json:"Interval,omitempty"`
	Timeout       time.Duration `json:"Timeout,omitempty"`
	StartPeriod   time.Duration `json:"StartPeriod,omitempty"`
	StartInterval time.Duration `json:"StartInterval,omitempty"`
	Retries       int           `json:"Retries,omitempty"`
}

// Flags are the --health-* options of run. A zero duration or retries
// value is "not given" (the image's, else docker's default); Set says
// which were given, for the errors.
type Flags struct {
	Cmd string // --health-cmd, run with /bin/sh -c
	// Test is a whole test (["CMD", ...], ["CMD-SHELL", "..."] or
	// ["NONE"]), as a compose file's healthcheck gives it; Cmd wins.
	Test          []string `json:"Test,omitempty"`
	Interval      time.Duration
	Timeout       time.Duration
	StartPeriod   time.Duration
	StartInterval time.Duration
	Retries       int
	None          bool   // --no-healthcheck
	OnFailure     string // --health-on-failure
}

// Args returns the command a probe runs: CMD's words, or /bin/sh -c for
// CMD-SHELL.
func (c *Config) Args() []string {
	if len(c.Test) < 2 {
		return nil
	}
	if c.Test[0] == "CMD-SHELL" {
		return []string{"/bin/sh", "-c", c.Test[1]}
	}
	return c.Test[1:]
}

// Resolve merges the image's check with the flags, as docker does: each
// flag given overrides the image's value, --health-cmd its test, and
// --no-healthcheck or an image test of NONE turns the check off. It
// returns nil when the container has no health check.
func Resolve(img *Image, f Flags) (*Config, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	if f.None {
		return nil, nil
	}
	var c Config
	if img != nil {
		c = Config{Test: img.Test, Interval: img.Interval, Timeout: img.Timeout, StartPeriod: img.StartPeriod,
			StartInterval: img.StartInterval, Retries: img.Retries}
	}
	if len(f.Test) > 0 {
		c.Test = f.Test
	}
	if f.Cmd != "" {
		c.Test = []string{"CMD-SHELL", f.Cmd}
	}
	if len(c.Test) == 0 || c.Test[0] == "NONE" {
		if f.OnFailure != "" && f.OnFailure != ActionNone {
			return nil, fmt.Errorf("%w: --health-on-failure %s needs a health check: give --health-cmd (the image has none)", ErrInvalid, f.OnFailure)
		}
		return nil, nil
	}
	if err := checkTest(c.Test); err != nil {
		return nil, err
	}
	c.Interval = pick(f.Interval, c.Interval, DefaultInterval)
	c.Timeout = pick(f.Timeout, c.Timeout, DefaultTimeout)
	c.StartPeriod = pick(f.StartPeriod, c.StartPeriod, 0)
	c.StartInterval = pick(f.StartInterval, c.StartInterval, DefaultStartInterval)
	c.Retries = int(pick(time.Duration(f.Retries), time.Duration(c.Retries), DefaultRetries))
	c.OnFailure = f.OnFailure
	if c.OnFailure == ActionNone {
		c.OnFailure = ""
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", c.Interval}, {"timeout", c.Timeout}, {"start interval", c.StartInterval}} {
		if d.v < MinInterval {
			return nil, fmt.Errorf("%w: the image's health check %s %v is below %v", ErrInvalid, d.name, d.v, MinInterval)
		}
	}
	return &c, nil
}

func pick(flag, img, def time.Duration) time.Duration {
	switch {
	case flag != 0:
		return flag
	case img > 0:
		return img
	}
	return def
}

// Check validates the flags on their own, before any image is at hand.
func (f Flags) Check() error {
	switch f.OnFailure {
	case "", ActionNone, ActionKill, ActionRestart, ActionStop:
	default:
		return fmt.Errorf("%w: --health-on-failure %q: use none, kill, restart or stop", ErrInvalid, f.OnFailure)
	}
	given := f.Cmd != "" || len(f.Test) > 0 || f.Interval != 0 || f.Timeout != 0 || f.StartPeriod != 0 || f.StartInterval != 0 || f.Retries != 0
	if f.None && (given || (f.OnFailure != "" && f.OnFailure != ActionNone)) {
		return fmt.Errorf("%w: --no-healthcheck conflicts with the other --health-* options", ErrInvalid)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--health-interval", f.Interval}, {"--health-timeout", f.Timeout}, {"--health-start-interval", f.StartInterval}} {
		if d.v != 0 && d.v < MinInterval {
			return fmt.Errorf("%w: %s %v: the minimum is %v", ErrInvalid, d.name, d.v, MinInterval)
		}
	}
	if f.StartPeriod < 0 {
		return fmt.Errorf("%w: --health-start-period %v cannot be negative", ErrInvalid, f.StartPeriod)
	}
	if f.Retries < 0 {
		return fmt.Errorf("%w: --health-retries %d cannot be negative", ErrInvalid, f.Retries)
	}
	return nil
}

func checkTest(t []string) error {
	switch t[0] {
	case "CMD":
		if len(t) < 2 || t[1] == "" {
			return fmt.Errorf("%w: the health check's CMD has no command", ErrInvalid)
		}
	case "CMD-SHELL":
		if len(t) != 2 || t[1] == "" {
			return fmt.Errorf("%w: the health check's CMD-SHELL wants exactly one command string", ErrInvalid)
		}
	default:
		return fmt.Errorf("%w: the health check's test starts with %q: want CMD, CMD-SHELL or NONE", ErrInvalid, t[0])
	}
	return nil
}
