package container

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"

	"github.com/edgerun/edgerun/logfile"
	"github.com/edgerun/edgerun/specgen"
)

// DetachOptions are the inputs of `run -d` beyond RunOptions: the restart
// policy and the log settings (--restart, --log-opt).
type DetachOptions struct {
	Restart string   // no, on-failure[:max], always, unless-stopped
	LogOpts []string // max-size=10m, max-file=3
}

// Lifecycle is the part of a Record about a detached container's life:
// its monitor, restart policy, logs and how it last ended. It is embedded
// in Record (its fields are top-level in record.json).
type Lifecycle struct {
	// Detached: the container is owned by a monitor (run -d, start).
	Detached      bool   `json:"detached,omitempty"`
	RestartPolicy string `json:"restartPolicy,omitempty"`
	RestartCount  int    `json:"restartCount"`
	// RestartDelay is the backoff the monitor waits before the next
	// restart (in nanoseconds, while restarting).
	RestartDelay time.Duration `json:"restartDelay,omitempty"`
	// StoppedByUser: stop (or kill) ended it; no restart until start.
	StoppedByUser bool `json:"stoppedByUser,omitempty"`
	// StoppedForShutdown: the stop was boot --shutdown's; boot restarts it.
	StoppedForShutdown bool `json:"stoppedForShutdown,omitempty"`
	MonitorPid         int  `json:"monitorPid,omitempty"`
	// MonitorLost: its monitor died while the container ran; the
	// container was killed and reaped by the next edgerun command.
	MonitorLost bool   `json:"monitorLost,omitempty"`
	OpenStdin   bool   `json:"openStdin,omitempty"`
	LogMaxSize  int64  `json:"logMaxSize,omitempty"`
	LogMaxFile  int    `json:"logMaxFile,omitempty"`
	Error       string `json:"error,omitempty"` // why the last start failed
	// BootID is the boot the container last started in: a record saying
	// running from another boot was ended by a reboot, not by a crash.
	BootID string `json:"bootID,omitempty"`
}

// Restart policies.
const (
	RestartNo            = "no"
	RestartOnFailure     = "on-failure"
	RestartAlways        = "always"
	RestartUnlessStopped = "unless-stopped"
)

// RestartPolicy is a parsed --restart value.
type RestartPolicy struct {
	Name string
	Max  int // on-failure only; 0 means no limit
}

// ParseRestartPolicy parses no, on-failure[:max], always, unless-stopped.
func ParseRestartPolicy(s string) (RestartPolicy, error) {
	name, max, hasMax := strings.Cut(s, ":")
	switch name {
	case "", RestartNo, RestartAlways, RestartUnlessStopped:
		if hasMax {
			return RestartPolicy{}, fmt.Errorf("%w: --restart %s: only on-failure takes a maximum (on-failure:3)", specgen.ErrInvalidOption, s)
		}
		if name == "" {
			name = RestartNo
		}
		return RestartPolicy{Name: name}, nil
	case RestartOnFailure:
		p := RestartPolicy{Name: name}
		if hasMax {
			n, err := strconv.Atoi(max)
			if err != nil || n < 0 {
				return RestartPolicy{}, fmt.Errorf("%w: --restart %s: the maximum must be a number >= 0", specgen.ErrInvalidOption, s)
			}
			p.Max = n
		}
		return p, nil
	}
	return RestartPolicy{}, fmt.Errorf("%w: --restart %q: use no, on-failure[:max], always or unless-stopped", specgen.ErrInvalidOption, s)
}

// shouldRestart decides whether a container that ended with code restarts.
// restarts is how many times the monitor has restarted it already.
func (p RestartPolicy) shouldRestart(code, restarts int, stoppedByUser bool) bool {
	if stoppedByUser {
		return false
	}
	switch p.Name {
	case RestartAlways, RestartUnlessStopped:
		return true
	case RestartOnFailure:
		return code != 0 && (p.Max == 0 || restarts < p.Max)
	}
	return false
}

// startsAtBoot says whether `edgerun boot` starts a container.
func (p RestartPolicy) startsAtBoot(stoppedByUser bool) bool {
	return p.Name == RestartAlways || (p.Name == RestartUnlessStopped && !stoppedByUser)
}

// Restart backoff: the delay doubles from backoffMin up to backoffMax, and
// starts again from backoffMin once a container ran for backoffReset.
const (
	backoffMin   = 100 * time.Millisecond
	backoffMax   = time.Minute
	backoffReset = 10 * time.Second
)

// nextBackoff is the delay before the next restart, given the last one and
// how long the container ran.
func nextBackoff(last, ran time.Duration) time.Duration {
	if last == 0 || ran >= backoffReset {
		return backoffMin
	}
	return min(last*2, backoffMax)
}

// parseLogOpts parses --log-opt max-size=SIZE and max-file=N (several
// options may share one flag, separated by commas). The defaults are
// small, for SD cards: at most 3 × 5 MiB per container.
func parseLogOpts(opts []string) (size int64, files int, err error) {
	size, files = logfile.DefaultMaxSize, logfile.DefaultMaxFile
	for _, o := range opts {
		for _, kv := range strings.Split(o, ",") {
			k, v, ok := strings.Cut(kv, "=")
			switch {
			case !ok:
				return 0, 0, fmt.Errorf("%w: --log-opt %q: use KEY=VALUE (max-size=10m, max-file=3)", specgen.ErrInvalidOption, kv)
			case k == "max-size":
				size, err = units.RAMInBytes(v)
				if err != nil || size < 4096 {
					return 0, 0, fmt.Errorf("%w: --log-opt max-size=%s: use a size of at least 4k, like 10m", specgen.ErrInvalidOption, v)
				}
			case k == "max-file":
				files, err = strconv.Atoi(v)
				if err != nil || files < 1 || files > 100 {
					return 0, 0, fmt.Errorf("%w: --log-opt max-file=%s: use a number from 1 to 100", specgen.ErrInvalidOption, v)
				}
			default:
				return 0, 0, fmt.Errorf("%w: unknown --log-opt %q: edgerun knows max-size and max-file", specgen.ErrInvalidOption, k)
			}
		}
	}
	return size, files, nil
}

// newLifecycle validates the detach options of a run, detached or not.
func newLifecycle(opts *RunOptions, detach bool) (Lifecycle, error) {
	if !detach {
		if opts.DetachOpts.Restart != "" && opts.DetachOpts.Restart != RestartNo {
			return Lifecycle{}, fmt.Errorf("%w: --restart needs -d (a restart policy is applied by the container's monitor)", specgen.ErrInvalidOption)
		}
		return Lifecycle{}, nil
	}
	p, err := ParseRestartPolicy(opts.DetachOpts.Restart)
	if err != nil {
		return Lifecycle{}, err
	}
	if opts.Remove && p.Name != RestartNo {
		return Lifecycle{}, fmt.Errorf("%w: --rm and --restart %s conflict: a removed container cannot restart", specgen.ErrInvalidOption, p.Name)
	}
	size, files, err := parseLogOpts(opts.DetachOpts.LogOpts)
	if err != nil {
		return Lifecycle{}, err
	}
	return Lifecycle{
		Detached: true, RestartPolicy: opts.DetachOpts.Restart, OpenStdin: opts.Interactive,
		LogMaxSize: size, LogMaxFile: files,
	}, nil
}

func (l *Lifecycle) policy() RestartPolicy {
	p, err := ParseRestartPolicy(l.RestartPolicy)
	if err != nil {
		return RestartPolicy{Name: RestartNo}
	}
	return p
}

// BootIDFileEnv names the environment variable that overrides the boot ID
// file (Config.BootIDFile), for tests that simulate a reboot; the CLI and
// the monitor read it.
const BootIDFileEnv = "EDGERUN_BOOT_ID_FILE"

// bootID returns the ID of the running boot, "" when the kernel has none.
func (r *Runtime) bootID() string {
	path := r.cfg.BootIDFile
	if path == "" {
		path = bootIDFile
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
