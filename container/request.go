package container

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/health"
	"github.com/edgerun/edgerun/specgen"
)

// requestFile keeps, in a container's directory, the options it was run
// with, so that update and apply can make its replacement the same way
// with another image.
const requestFile = "request.json"

// request is the part of RunOptions that says what a container is: no
// streams, callbacks or pull credentials. -e KEY (the host's value) is
// kept resolved, as the container got it.
type request struct {
	Image       string              `json:"image"`
	Name        string              `json:"name,omitempty"`
	Remove      bool                `json:"remove,omitempty"`
	Platform    string              `json:"platform,omitempty"`
	Interactive bool                `json:"interactive,omitempty"`
	DetachOpts  DetachOptions       `json:"detach"`
	Init        bool                `json:"init,omitempty"`
	Health      health.Flags        `json:"health"`
	Labels      map[string]string   `json:"labels,omitempty"`
	StopTimeout time.Duration       `json:"stopTimeout,omitempty"`
	Spec        specgen.SpecOptions `json:"spec"`
	Limits      cgroups.Flags       `json:"limits"`
	Resolv      ResolvFlags         `json:"resolv"`
	Net         NetOptions          `json:"net"`
}

func newRequest(opts *RunOptions) request {
	q := request{
		Image: opts.Image, Name: opts.Name, Remove: opts.Remove, Platform: opts.Platform,
		Interactive: opts.Interactive, DetachOpts: opts.DetachOpts, Init: opts.Init, Health: opts.Health,
		Labels: opts.Labels, StopTimeout: opts.StopTimeout,
		Spec: opts.Spec, Limits: opts.Limits, Resolv: opts.Resolv, Net: opts.Net,
	}
	lookup := opts.Spec.HostEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	q.Spec.Env = nil
	for _, kv := range opts.Spec.Env {
		if !strings.Contains(kv, "=") {
			v, ok := lookup(kv)
			if !ok {
				continue
			}
			kv += "=" + v
		}
		q.Spec.Env = append(q.Spec.Env, kv)
	}
	q.Spec.HostEnv, q.Spec.Notice, q.Spec.HostDevices = nil, nil, nil
	return q
}

// options are the run options of the request (no streams).
func (q *request) options() RunOptions {
	return RunOptions{
		Image: q.Image, Name: q.Name, Remove: q.Remove, Platform: q.Platform, Pull: "never",
		Interactive: q.Interactive, DetachOpts: q.DetachOpts, Init: q.Init, Health: q.Health,
		Labels: q.Labels, StopTimeout: q.StopTimeout,
		Spec: q.Spec, Limits: q.Limits, Resolv: q.Resolv, Net: q.Net,
	}
}

func (r *Runtime) saveRequest(id string, q request, durable bool) error {
	return writeJSON(filepath.Join(r.containerDir(id), requestFile), q, durable)
}

func (r *Runtime) loadRequest(rec *Record) (*request, error) {
	b, err := os.ReadFile(filepath.Join(r.containerDir(rec.ID), requestFile))
	if err != nil {
		return nil, fmt.Errorf("container %s has no record of its run options (made by an older edgerun?): remove it and run it again: %w", rec.Name, err)
	}
	var q request
	if err := json.Unmarshal(b, &q); err != nil {
		return nil, fmt.Errorf("%w: the run options of container %s are corrupt: %w", errRecordDamaged, rec.Name, err)
	}
	return &q, nil
}
