package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/edgerun/edgerun/health"
)

// Applied is a set of services `edgerun apply` made, as boot needs it to
// bring them back after a reboot in their dependency order.
type Applied struct {
	Project  string           `json:"project"`
	File     string           `json:"file"` // the service file, absolute
	Services []AppliedService `json:"services"`
	At       time.Time        `json:"at"`
	// Source is the file as it was applied (its env_files and the
	// environment of ${VAR} are not kept).
	Source string `json:"source,omitempty"`
}

// AppliedService is one service of an applied set, in dependency order.
type AppliedService struct {
	Name      string              `json:"name"`
	DependsOn []AppliedDependency `json:"dependsOn,omitempty"`
}

// AppliedDependency is one depends_on entry: the service, and whether it
// must be healthy (else started) first.
type AppliedDependency struct {
	Service string `json:"service"`
	Healthy bool   `json:"healthy,omitempty"`
}

func (r *Runtime) appliedDir() string { return filepath.Join(r.cfg.Root, "apply") }

// SaveApplied records an applied set (durably: boot reads it after a power cut).
func (r *Runtime) SaveApplied(a *Applied) error {
	if err := os.MkdirAll(r.appliedDir(), 0o700); err != nil {
		return err
	}
	return writeJSON(filepath.Join(r.appliedDir(), a.Project+".json"), a, true)
}

// RemoveApplied forgets an applied set.
func (r *Runtime) RemoveApplied(project string) error {
	err := os.Remove(filepath.Join(r.appliedDir(), project+".json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// AppliedSets returns every applied set, by project name.
func (r *Runtime) AppliedSets() ([]*Applied, error) {
	ents, err := os.ReadDir(r.appliedDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sets []*Applied
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.appliedDir(), e.Name()))
		if err != nil {
			return nil, err
		}
		var a Applied
		if err := json.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("the applied set %s is corrupt: apply its file again: %w", e.Name(), err)
		}
		sets = append(sets, &a)
	}
	sort.Slice(sets, func(i, j int) bool { return sets[i].Project < sets[j].Project })
	return sets, nil
}

// WaitReady waits until a container runs (healthy: and its health check
// says healthy), at most timeout. It fails early when the container
// exits or becomes unhealthy.
func (r *Runtime) WaitReady(ctx context.Context, ref string, healthy bool, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	load := func() (*Record, error) { return r.lookup(ref) }
	return r.pollRecord(ctx, load, func(rec *Record, st *health.State) (bool, error) {
		switch {
		case rec.State == StateExited:
			return false, fmt.Errorf("%s exited with code %d", rec.Name, rec.ExitCode)
		case healthy && rec.HealthCheck == nil:
			return false, fmt.Errorf("%s has no health check to be healthy by: give it a healthcheck, or use condition: service_started", rec.Name)
		case rec.State == StateRunning && !healthy:
			return true, nil
		case rec.State == StateRunning && isHealthy(st):
			return true, nil
		case rec.State == StateRunning && isUnhealthy(st):
			return false, fmt.Errorf("%s is unhealthy: %s", rec.Name, lastOutput(st))
		}
		if time.Now().After(deadline) {
			return false, fmt.Errorf("%s was not %s within %v", rec.Name, map[bool]string{true: "healthy", false: "running"}[healthy], timeout)
		}
		return false, nil
	})
}

// pollRecord calls judge every 100 ms with the container's record (load's,
// its state refreshed) and health state until judge says done or fails,
// load fails or ctx ends (ctx's error).
func (r *Runtime) pollRecord(ctx context.Context, load func() (*Record, error), judge func(*Record, *health.State) (bool, error)) error {
	for {
		rec, err := load()
		if err != nil {
			return err
		}
		r.refresh(rec)
		if done, err := judge(rec, r.Health(rec)); done || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func isHealthy(st *health.State) bool   { return st != nil && st.Status == health.Healthy }
func isUnhealthy(st *health.State) bool { return st != nil && st.Status == health.Unhealthy }
