package container

import (
	"fmt"
	"time"

	"github.com/edgerun/edgerun/health"
	"github.com/edgerun/edgerun/internal/statedir"
	"github.com/edgerun/edgerun/logfile"
	"github.com/edgerun/edgerun/restart"
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
	Detached bool `json:"detached,omitempty"`
	// Prepared: made by edgerun create. Until start runs it, it stays
	// created (no command reaps it), and a start that fails leaves it
	// created with the reason in Error rather than removing it.
	Prepared      bool   `json:"prepared,omitempty"`
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
	MonitorLost bool `json:"monitorLost,omitempty"`
	// HostRestarted: the host restarted while it ran; nobody saw it end,
	// and FinishedAt is when the new boot began.
	HostRestarted bool   `json:"hostRestarted,omitempty"`
	OpenStdin     bool   `json:"openStdin,omitempty"`
	LogMaxSize    int64  `json:"logMaxSize,omitempty"`
	LogMaxFile    int    `json:"logMaxFile,omitempty"`
	Error         string `json:"error,omitempty"` // why the last start failed
	// BootID is the boot the container last started in: a record saying
	// running from another boot was ended by a reboot, not by a crash.
	BootID string `json:"bootID,omitempty"`
	// HealthCheck is the container's health check (the image's merged
	// with the --health-* flags), nil without one. Its state is volatile
	// (see Runtime.Health).
	HealthCheck *health.Config `json:"healthcheck,omitempty"`
	// HealthRestart: a probe found the container unhealthy with
	// --health-on-failure restart and stopped it; its monitor starts it
	// again whatever the restart policy says.
	HealthRestart bool `json:"healthRestart,omitempty"`
	// StopTimeout is --stop-timeout: stop's wait before SIGKILL when the
	// command does not say (0: DefaultStopTimeout).
	StopTimeout time.Duration `json:"stopTimeout,omitempty"`
	// Update is the last update of the container's service (update,
	// apply): the image it moved to, or why it was rolled back.
	Update *UpdateStatus `json:"update,omitempty"`
}

// newLifecycle validates the detach options of a run, detached or not.
func newLifecycle(opts *RunOptions, detach bool) (Lifecycle, error) {
	if !detach {
		if opts.DetachOpts.Restart != "" && opts.DetachOpts.Restart != restart.No {
			return Lifecycle{}, fmt.Errorf("%w: --restart needs -d (a restart policy is applied by the container's monitor)", specgen.ErrInvalidOption)
		}
		return Lifecycle{}, nil
	}
	p, err := restart.Parse(opts.DetachOpts.Restart)
	if err != nil {
		return Lifecycle{}, fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
	}
	if opts.Remove && p.Name != restart.No {
		return Lifecycle{}, fmt.Errorf("%w: --rm and --restart %s conflict: a removed container cannot restart", specgen.ErrInvalidOption, p.Name)
	}
	size, files, err := logfile.ParseOptions(opts.DetachOpts.LogOpts)
	if err != nil {
		return Lifecycle{}, fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
	}
	return Lifecycle{
		Detached: true, RestartPolicy: opts.DetachOpts.Restart, OpenStdin: opts.Interactive,
		LogMaxSize: size, LogMaxFile: files,
	}, nil
}

// Policy is the container's restart policy ("no" when unreadable).
func (l *Lifecycle) Policy() restart.Policy {
	p, err := restart.Parse(l.RestartPolicy)
	if err != nil {
		return restart.Policy{Name: restart.No}
	}
	return p
}

// BootIDFileEnv names the environment variable that overrides the boot ID
// file (Config.BootIDFile), for tests that simulate a reboot; the CLI and
// the monitor read it.
const BootIDFileEnv = "EDGERUN_BOOT_ID_FILE"

// bootID returns the ID of the running boot, "" when the kernel has none.
func (r *Runtime) bootID() string { return statedir.BootID(r.cfg.BootIDFile) }

// stopWait is how long stop waits for the stop signal before SIGKILL:
// the container's --stop-timeout, else DefaultStopTimeout.
func (l *Lifecycle) stopWait() time.Duration {
	if l.StopTimeout > 0 {
		return l.StopTimeout
	}
	return DefaultStopTimeout
}
