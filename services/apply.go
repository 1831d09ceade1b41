package services

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/edgerun/edgerun/compose"
	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/images"
)

// ApplyOptions are the inputs of `edgerun apply -f FILE`.
type ApplyOptions struct {
	File string
	// Project names the set; "" takes the file's top-level name, else
	// its directory's name (as Compose does).
	Project       string
	DryRun        bool
	RemoveOrphans bool
	Pull          string // missing (default), always, never: for new images
	PullWith      images.PullOptions
	// Lookup is the environment ${VAR} and a bare KEY read (nil: none).
	Lookup func(string) (string, bool)
	// UpdateWait and UpdateTimeout are update's, for changed services
	// and the waits of depends_on.
	UpdateWait, UpdateTimeout time.Duration
	// Progress is told each action as it starts and as it ends (nil: not).
	Progress func(Action)
}

// The actions of a plan.
const (
	ActCreate    = "create"
	ActUpdate    = "update"
	ActStart     = "start"
	ActUnchanged = "unchanged"
	ActRemove    = "remove"
	ActOrphan    = "orphan" // not in the file, kept without --remove-orphans
)

// Action is one step of a plan, and after apply what it came to.
type Action struct {
	Service string `json:"service"`
	Action  string `json:"action"`
	Image   string `json:"image,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Result is "done", "rolled back: why", "failed: why" or "skipped"
	// (a dependency failed); "" in a dry run.
	Result string `json:"result,omitempty"`
}

// Plan is what apply does (did) for a file.
type Plan struct {
	Project  string   `json:"project"`
	File     string   `json:"file"`
	Actions  []Action `json:"actions"`
	Warnings []string `json:"warnings,omitempty"`
}

// Changes says whether the plan changes anything.
func (p *Plan) Changes() bool {
	for _, a := range p.Actions {
		if a.Action != ActUnchanged && a.Action != ActOrphan {
			return true
		}
	}
	return false
}

// ErrApplyFailed: a service could not be created, updated or started;
// the plan's results say which, and what was left as it was.
var ErrApplyFailed = errors.New("apply failed")

// Apply reconciles the containers of a service file's set with it: it
// creates what is missing, updates what changed (update's rollback, in
// depends_on order, waiting for each dependency to be started or
// healthy as asked), starts what stopped, and leaves the rest untouched;
// services no longer in the file are removed only with RemoveOrphans.
// The whole file is read and checked, and the plan made, before anything
// changes. The set is recorded for boot, which brings it back in the same
// order after a reboot.
func Apply(ctx context.Context, r *container.Runtime, opts ApplyOptions) (*Plan, error) {
	proj, err := compose.Load(opts.File, opts.Lookup)
	if err != nil {
		return nil, err
	}
	order, err := proj.Order()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(opts.File)
	if err != nil {
		return nil, err
	}
	name, err := projectName(opts.Project, proj.Name, abs)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Project: name, File: abs, Warnings: proj.Warnings}
	if !opts.DryRun {
		// An update killed midway is finished or rolled back first: until
		// then its service may have no container by its name.
		if _, err := r.RecoverUpdates(ctx); err != nil {
			return nil, err
		}
	}
	steps, err := planSteps(r, opts.File, name, order, opts.RemoveOrphans)
	if err != nil {
		return nil, err
	}
	for _, s := range steps {
		plan.Actions = append(plan.Actions, s.Action)
	}
	if opts.DryRun {
		return plan, nil
	}
	for _, v := range proj.Volumes {
		if _, err := r.CreateVolume(ctx, v); err != nil {
			return plan, fmt.Errorf("volume %s: %w", v, err)
		}
	}
	err = execute(ctx, r, plan, steps, opts)
	a := applied(name, abs, order)
	if src, rerr := os.ReadFile(abs); rerr == nil && len(src) <= compose.MaxFileSize {
		a.Source = string(src)
	}
	if serr := r.SaveApplied(a); serr != nil && err == nil {
		err = serr
	}
	return plan, err
}

var projectChars = regexp.MustCompile(`[^a-z0-9_-]+`)

// projectName is the set's name: given, the file's, else its directory's
// (lowercased, other characters dropped, as Compose does).
func projectName(given, file, abs string) (string, error) {
	name := given
	if name == "" {
		name = file
	}
	if name == "" {
		name = projectChars.ReplaceAllString(strings.ToLower(filepath.Base(filepath.Dir(abs))), "")
	}
	if name == "" || !regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`).MatchString(name) {
		return "", fmt.Errorf("%w: project name %q: use lowercase letters, digits, '_' and '-' (give --project or a top-level name:)", compose.ErrInvalid, name)
	}
	return name, nil
}

func applied(project, file string, order []*compose.Service) *container.Applied {
	a := &container.Applied{Project: project, File: file, At: time.Now().UTC()}
	for _, s := range order {
		as := container.AppliedService{Name: s.Name}
		for _, d := range s.DependsOn {
			as.DependsOn = append(as.DependsOn, container.AppliedDependency{Service: d.Service, Healthy: d.Condition == "service_healthy"})
		}
		a.Services = append(a.Services, as)
	}
	return a
}

// step is one planned action with what it needs.
type step struct {
	Action
	svc  *compose.Service
	opts container.RunOptions
}

// planSteps compares each service with its container (by name) and the
// containers of the set with the file.
func planSteps(r *container.Runtime, file, project string, order []*compose.Service, removeOrphans bool) ([]step, error) {
	var steps []step
	inFile := map[string]bool{}
	for _, s := range order {
		inFile[s.Name] = true
		o, err := runOptions(file, project, s)
		if err != nil {
			return nil, err
		}
		st := step{Action: Action{Service: s.Name, Image: s.Image}, svc: s, opts: o}
		rec, err := r.Inspect(s.Name)
		switch {
		case errors.Is(err, container.ErrNoSuchContainer):
			st.Action.Action = ActCreate
		case err != nil:
			return nil, err
		case rec.Labels[LabelProject] != project:
			return nil, fmt.Errorf("%w: service %s (line %d): a container named %s exists that this set did not make: remove or rename it (edgerun rm -f %s), or rename the service",
				container.ErrNameInUse, s.Name, s.Line, s.Name, s.Name)
		case rec.Labels[LabelDigest] != s.Digest():
			st.Action.Action, st.Reason = ActUpdate, "definition changed"
			if rec.Image != s.Image {
				st.Reason = "image " + rec.Image + " -> " + s.Image
			}
		case rec.State == container.StateExited:
			st.Action.Action, st.Reason = ActStart, "stopped"
		default:
			st.Action.Action = ActUnchanged
		}
		steps = append(steps, st)
	}
	recs, err := r.Containers(true)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		if rec.Labels[LabelProject] != project || inFile[rec.Name] {
			continue
		}
		a := Action{Service: rec.Name, Action: ActOrphan, Image: rec.Image, Reason: "not in the file: kept (use --remove-orphans)"}
		if removeOrphans {
			a.Action, a.Reason = ActRemove, "not in the file"
		}
		steps = append(steps, step{Action: a})
	}
	return steps, nil
}

// execute carries the plan out in order. A step that fails stops the
// steps of the services that depend on it (they are skipped); the others
// go on.
func execute(ctx context.Context, r *container.Runtime, plan *Plan, steps []step, opts ApplyOptions) error {
	failed := map[string]bool{}
	var errs []error
	for i := range steps {
		st := &steps[i]
		if dep := failedDependency(st.svc, failed); dep != "" && st.Action.Action != ActUnchanged {
			st.Result, failed[st.Service] = "skipped: "+dep+" failed", true
			plan.Actions[i] = st.Action
			if opts.Progress != nil {
				opts.Progress(st.Action)
			}
			continue
		}
		if opts.Progress != nil && st.Action.Action != ActUnchanged && st.Action.Action != ActOrphan {
			opts.Progress(st.Action)
		}
		err := waitDependencies(ctx, r, st.svc, opts)
		if err == nil {
			err = act(ctx, r, st, opts)
		}
		switch {
		case err == nil && st.Action.Action != ActUnchanged && st.Action.Action != ActOrphan:
			st.Result = "done"
		case errors.Is(err, container.ErrUpdateFailed):
			st.Result, failed[st.Service] = "rolled back: "+err.Error(), true
			errs = append(errs, fmt.Errorf("%s: %w", st.Service, err))
		case err != nil:
			st.Result, failed[st.Service] = "failed: "+err.Error(), true
			errs = append(errs, fmt.Errorf("%s: %w", st.Service, err))
		}
		plan.Actions[i] = st.Action
		if opts.Progress != nil && st.Result != "" {
			opts.Progress(st.Action)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrApplyFailed, errors.Join(errs...))
	}
	return nil
}

func failedDependency(s *compose.Service, failed map[string]bool) string {
	if s == nil {
		return ""
	}
	for _, d := range s.DependsOn {
		if failed[d.Service] {
			return d.Service
		}
	}
	return ""
}

// waitDependencies waits until each dependency of s is started, or
// healthy where depends_on says service_healthy.
func waitDependencies(ctx context.Context, r *container.Runtime, s *compose.Service, opts ApplyOptions) error {
	if s == nil {
		return nil
	}
	timeout := opts.UpdateTimeout
	if timeout <= 0 {
		timeout = container.DefaultUpdateTimeout
	}
	for _, d := range s.DependsOn {
		if err := r.WaitReady(ctx, d.Service, d.Condition == "service_healthy", timeout); err != nil {
			return fmt.Errorf("depends_on %s (%s): %w", d.Service, d.Condition, err)
		}
	}
	return nil
}

// act carries out one step.
func act(ctx context.Context, r *container.Runtime, st *step, opts ApplyOptions) error {
	o := st.opts
	o.Pull, o.PullWith = opts.Pull, opts.PullWith
	o.Spec.HostEnv = func(string) (string, bool) { return "", false } // the file's environment is resolved
	switch st.Action.Action {
	case ActCreate:
		_, err := r.RunDetached(ctx, o)
		return err
	case ActUpdate:
		_, err := r.Update(ctx, st.Service, container.UpdateOptions{Run: &o, Force: true, Pull: opts.Pull,
			PullWith: opts.PullWith, Wait: opts.UpdateWait, Timeout: opts.UpdateTimeout})
		return err
	case ActStart:
		_, err := r.Start(ctx, st.Service)
		return err
	case ActRemove:
		_, err := r.RemoveContainer(ctx, st.Service, true)
		return err
	}
	return nil
}
