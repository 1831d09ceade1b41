package container

import (
	"testing"
	"time"
)

func TestExitedSince(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Minute)
	for _, tc := range []struct {
		name      string
		base, cur Record
		want      bool
	}{
		{"still running", Record{State: StateRunning, FinishedAt: t0}, Record{State: StateRunning, FinishedAt: t0}, false},
		{"restarted, not exited again", Record{State: StateRestarting, FinishedAt: t0}, Record{State: StateRunning, FinishedAt: t0}, false},
		{"exited", Record{State: StateRunning}, Record{State: StateExited, FinishedAt: t1}, true},
		{"first exit of a restarting one", Record{State: StateRunning, FinishedAt: t0}, Record{State: StateRestarting, FinishedAt: t1}, true},
		{"owner died (refresh)", Record{State: StateRunning, FinishedAt: t0}, Record{State: StateExited, FinishedAt: t0}, true},
		{"created, not started", Record{State: StateCreated}, Record{State: StateCreated}, false},
		{"created, start failed", Record{State: StateCreated}, Record{State: StateCreated, FinishedAt: t1}, true},
		{"exited before, next-exit waits", Record{State: StateExited, FinishedAt: t0}, Record{State: StateExited, FinishedAt: t0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exitedSince(&tc.base, &tc.cur); got != tc.want {
				t.Fatalf("exitedSince = %v, want %v", got, tc.want)
			}
		})
	}
}
