package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// healthRecord is what inspect shows of a container's health.
type healthRecord struct {
	lifeRecord
	HealthCheck *struct {
		Test      []string
		OnFailure string
	}
	HealthRestart bool
	StartedAt     time.Time
	Health        *healthState
}

func (e *env) inspectHealth(name string) healthRecord {
	e.t.Helper()
	d := e.inspectDoc(name)
	h := healthRecord{lifeRecord: d.life(), HealthRestart: d.Edgerun.HealthRestart, StartedAt: d.State.StartedAt,
		Health: d.State.Health}
	if c := d.Config.Healthcheck; c != nil {
		h.HealthCheck = &struct {
			Test      []string
			OnFailure string
		}{c.Test, d.Edgerun.HealthOnFailure}
	}
	return h
}

func (e *env) waitHealth(name, what string, ok func(healthRecord) bool) healthRecord {
	e.t.Helper()
	var last healthRecord
	e.waitFor(name, what, func(lifeRecord) bool {
		last = e.inspectHealth(name)
		return ok(last)
	})
	return last
}

func status(s string) func(healthRecord) bool {
	return func(h healthRecord) bool { return h.Health != nil && h.Health.Status == s }
}

// A shell that exits at once on SIGTERM, so stop and restart need no SIGKILL.
const termable = `trap "exit 0" TERM; while true; do sleep 0.1; done`

// The check fails once /tmp/bad exists: the test flips it with exec.
var flipFlags = []string{"--health-cmd", "test ! -e /tmp/bad && echo fine", "--health-interval", "200ms",
	"--health-retries", "2", "--network", "none"}

func TestHealthCheckFlipsUnhealthyAndEachOnFailureActionActs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	tests := []struct {
		action string
		extra  []string
		done   func(healthRecord) bool
		check  func(t *testing.T, h healthRecord)
	}{
		{"none", nil, status("unhealthy"), func(t *testing.T, h healthRecord) {
			if h.State != "running" || h.Health.FailingStreak < 2 {
				t.Errorf("none: %+v, want still running with a failing streak of 2 or more", h)
			}
			last := h.Health.Log[len(h.Health.Log)-1]
			if last.ExitCode != 1 {
				t.Errorf("none: last probe %+v, want exit code 1", last)
			}
			if !strings.Contains(e.must("ps"), "(unhealthy)") {
				t.Errorf("ps does not say (unhealthy):\n%s", e.must("ps"))
			}
		}},
		{"kill", []string{"--restart", "no"}, func(h healthRecord) bool { return h.State == "exited" }, func(t *testing.T, h healthRecord) {
			if h.ExitCode != 137 || h.StoppedByUser {
				t.Errorf("kill: %+v, want exited 137 by SIGKILL, not a user's stop", h.lifeRecord)
			}
		}},
		{"restart", nil, func(h healthRecord) bool { return h.RestartCount >= 1 && h.State == "running" }, func(t *testing.T, h healthRecord) {
			if h.ExitCode != 0 {
				t.Errorf("restart: the run before ended with %d, want 0 (stopped with SIGTERM)", h.ExitCode)
			}
		}},
		{"stop", []string{"--restart", "always"}, func(h healthRecord) bool { return h.State == "exited" }, func(t *testing.T, h healthRecord) {
			if !h.StoppedByUser || h.ExitCode != 0 {
				t.Errorf("stop: %+v, want stopped as by the user (no restart despite --restart always), exit 0", h.lifeRecord)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			name := "hc-" + tt.action
			args := append([]string{"--name", name, "--health-on-failure", tt.action}, flipFlags...)
			args = append(append(args, tt.extra...), "busybox", "sh", "-c", termable)
			e.runD(args...)
			h := e.waitHealth(name, "healthy", status("healthy"))
			if h.Health.Log[len(h.Health.Log)-1].Output != "fine\n" {
				t.Errorf("the probe's output is not recorded: %+v", h.Health.Log)
			}
			if ps := e.must("ps"); !strings.Contains(ps, "(healthy)") {
				t.Errorf("ps does not say (healthy):\n%s", ps)
			}
			e.must("exec", name, "touch", "/tmp/bad")
			tt.check(t, e.waitHealth(name, "the action of "+tt.action, tt.done))
			e.must("rm", "-f", name)
		})
	}
	assertClean(t, e)
}

func TestHealthOfTheImageHEALTHCHECKAndNoHealthcheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.must("load", "-i", imagePath(t, "sensor"))
	// The image's check (sensor health), probed sooner than its 30 s.
	e.runD("--name", "s", "--network", "none", "--health-interval", "200ms", "--health-start-interval", "200ms", "sensor", "serve")
	h := e.waitHealth("s", "healthy by the image's check", status("healthy"))
	if h.HealthCheck == nil || strings.Join(h.HealthCheck.Test, " ") != "CMD /usr/bin/sensor health" {
		t.Errorf("healthcheck %+v, want the image's CMD /usr/bin/sensor health", h.HealthCheck)
	}
	if r := e.run("healthcheck", "run", "s"); r.code != 0 || strings.TrimSpace(r.stdout) != "healthy" {
		t.Errorf("healthcheck run of a healthy container: %s, want healthy and 0", r)
	}
	e.runD("--name", "n", "--network", "none", "--no-healthcheck", "sensor", "serve")
	if h := e.inspectHealth("n"); h.HealthCheck != nil || h.Health != nil {
		t.Errorf("--no-healthcheck: %+v, want no health check", h)
	}
	if ps := e.must("ps"); strings.Count(ps, "(health") != 1 && !strings.Contains(ps, "(healthy)") {
		t.Errorf("ps: want a health status for s only:\n%s", ps)
	}
	r := e.run("healthcheck", "run", "n")
	if r.code != 125 || !strings.Contains(r.stderr, "no health check") {
		t.Errorf("healthcheck run without a check: %s, want 125 and why", r)
	}
	e.must("rm", "-f", "s", "n")
	assertClean(t, e)
}

func TestHealthCheckTimeoutIsAFailureWithDockersOutput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "slow", "--network", "none", "--health-cmd", "sleep 10", "--health-timeout", "300ms",
		"--health-interval", "200ms", "--health-retries", "1", "busybox", "sh", "-c", termable)
	h := e.waitHealth("slow", "unhealthy by timeouts", status("unhealthy"))
	last := h.Health.Log[len(h.Health.Log)-1]
	if last.ExitCode != -1 || !strings.Contains(last.Output, "Health check exceeded timeout (300ms)") {
		t.Errorf("timed-out probe %+v, want exit code -1 and docker's message", last)
	}
	r := e.run("healthcheck", "run", "slow")
	if r.code != 1 || strings.TrimSpace(r.stdout) != "unhealthy" {
		t.Errorf("healthcheck run of an unhealthy container: %s, want unhealthy and 1", r)
	}
	e.must("rm", "-f", "slow")
	assertClean(t, e)
}

func TestHealthFlagsBadInputIsRefusedAndLeavesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-d", "--health-cmd", "true", "--health-on-failure", "reboot"}, "use none, kill, restart or stop"},
		{[]string{"--health-cmd", "true", "--health-on-failure", "restart"}, "restart needs -d"},
		{[]string{"-d", "--health-on-failure", "kill"}, "needs a health check"},
		{[]string{"-d", "--health-cmd", "true", "--health-interval", "1ms"}, "the minimum is 100ms"},
		{[]string{"-d", "--no-healthcheck", "--health-cmd", "true"}, "--no-healthcheck conflicts"},
	}
	for _, tt := range tests {
		args := append(append([]string{"run", "--network", "none"}, tt.args...), "busybox", "true")
		r := e.run(args...)
		if r.code != 125 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: %s, want 125 and %q", tt.args, r, tt.want)
		}
	}
	assertClean(t, e)
}

func TestForegroundRunIsProbedToo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	// Healthy at first, then the check fails and kill ends the run.
	r := e.run("run", "--name", "fg", "--network", "none", "--health-cmd", "test ! -e /tmp/bad", "--health-interval", "200ms",
		"--health-retries", "1", "--health-on-failure", "kill", "busybox", "sh", "-c", "sleep 1; touch /tmp/bad; sleep 60")
	if r.code != 137 {
		t.Fatalf("foreground run with a failing check and kill: %s, want 137", r)
	}
	if h := e.inspectHealth("fg"); h.Health == nil || h.Health.Status != "unhealthy" {
		t.Errorf("after the kill: %+v, want unhealthy", h.Health)
	}
	e.must("rm", "fg")
	assertClean(t, e)
}

// inspectInto decodes the one record inspect prints of name into v.
func (e *env) inspectInto(name string, v any) {
	e.t.Helper()
	out := e.must("inspect", name)
	var recs []json.RawMessage
	if err := json.Unmarshal([]byte(out), &recs); err != nil || len(recs) != 1 {
		e.t.Fatalf("inspect %s: want one record, got %q (%v)", name, out, err)
	}
	if err := json.Unmarshal(recs[0], v); err != nil {
		e.t.Fatalf("inspect %s: %v", name, err)
	}
}
