package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/edgerun/edgerun/health"
	"github.com/edgerun/edgerun/images"
	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/ids"
	"github.com/edgerun/edgerun/specgen"
)

// UpdateOptions are the inputs of `edgerun update NAME --image REF`.
type UpdateOptions struct {
	Image    string
	Pull     string // missing (default), always, never
	PullWith images.PullOptions
	// Wait is how long a replacement without a health check must run
	// without exiting to count as good (--update-wait; default 5s).
	Wait time.Duration
	// Timeout bounds the wait for a replacement with a health check to be
	// healthy (--update-timeout; default 2m).
	Timeout time.Duration
	// Force replaces the container even when the image is the same.
	Force bool
	// Run, when set, are the whole options of the replacement (apply: a
	// service whose definition changed); Image is then Run.Image.
	Run    *RunOptions
	Notice func(string)
}

// Defaults of UpdateOptions.
const (
	DefaultUpdateWait    = 5 * time.Second
	DefaultUpdateTimeout = 2 * time.Minute
)

// The outcomes of an update.
const (
	UpdateDone       = "updated"
	UpdateUnchanged  = "unchanged"
	UpdateRolledBack = "rolled back"
)

// UpdateStatus is what a container's record keeps of the last update of
// its service: what it moved to, or why it was rolled back.
type UpdateStatus struct {
	Image   string    `json:"image"`          // the image the update was to
	From    string    `json:"from,omitempty"` // the image before it
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
}

// UpdateResult says what an update did.
type UpdateResult struct {
	Name    string `json:"name"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason,omitempty"` // why it was rolled back
	Old     string `json:"old,omitempty"`    // the container before (ID)
	New     string `json:"new,omitempty"`    // the container serving now (ID)
	// StopFirst: the replacement could not run beside the old container
	// (host network, a fixed --ip, another container's network), so the
	// old one was stopped first: the service was down while it started.
	StopFirst bool `json:"stopFirst,omitempty"`
}

// ErrUpdateFailed: the replacement did not become good; the old container
// serves again.
var ErrUpdateFailed = errors.New("update rolled back")

// Update replaces a detached container by one of a new image, with the
// same options, without a gap where the update goes wrong: the image is
// pulled first while the old container serves; the replacement starts
// beside it (under the name NAME.next, its published ports not yet
// taken) and must become healthy (or, without a health check, run for
// Wait); only then do the published ports move to it (one nftables
// transaction), the old container stop and go, and the name move. If the
// replacement fails, it is removed and the old container serves on: a
// rollback, recorded in its record (UpdateStatus). Every step is written
// to a journal first, so an update killed at any point is finished or
// rolled back by the next update of the container or by `edgerun boot`
// (RecoverUpdates).
func (r *Runtime) Update(ctx context.Context, ref string, opts UpdateOptions) (*UpdateResult, error) {
	if opts.Run != nil {
		opts.Image = opts.Run.Image
	}
	if opts.Image == "" {
		return nil, fmt.Errorf("%w: update needs --image", specgen.ErrInvalidOption)
	}
	if opts.Pull == "" {
		opts.Pull = images.PullMissing
	}
	if err := images.CheckPullPolicy(opts.Pull); err != nil {
		return nil, fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
	}
	name, err := r.serviceName(ref)
	if err != nil {
		return nil, err
	}
	lock, err := r.lockUpdate(ctx, name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = lock.Remove() }() // a lock file per service would pile up
	if err := r.recoverUpdate(ctx, name); err != nil {
		return nil, err
	}
	old, err := r.lookup(name)
	if err != nil {
		return nil, err
	}
	if !old.Detached {
		return nil, fmt.Errorf("%w: %s runs in the foreground of an edgerun run: only containers of run -d can be updated", specgen.ErrInvalidOption, old.Name)
	}
	q, err := r.loadRequest(old)
	if err != nil {
		return nil, err
	}
	store, err := r.Images()
	if err != nil {
		return nil, err
	}
	img, err := store.ForRun(ctx, opts.Image, opts.Pull, q.Platform, opts.PullWith)
	if err != nil {
		return nil, err // pulled first: nothing has changed
	}
	if err := checkPlatform(img, q.Platform); err != nil {
		return nil, err
	}
	if img.Digest == old.ImageDigest && !opts.Force {
		return &UpdateResult{Name: old.Name, Outcome: UpdateUnchanged, Old: old.ID, New: old.ID}, nil
	}
	nq := *q // the replacement's request: the old one with the new image
	nq.Image = opts.Image
	if opts.Run != nil {
		nq = newRequest(opts.Run)
		if nq.Net.Bridge == "" {
			nq.Net.Bridge, nq.Net.Subnet = q.Net.Bridge, q.Net.Subnet
		}
		// The service file names one network; the networks the container
		// was connected to besides (network connect) stay.
		if nq.Net.Mode == q.Net.Mode && len(nq.Net.More) == 0 {
			nq.Net.More, nq.Net.NetAliases = q.Net.More, q.Net.NetAliases
		}
	}
	u := &updater{r: r, opts: opts, q: &nq, j: &journal{
		Name: old.Name, Old: old.ID, OldImage: old.Image, Image: opts.Image, Temp: old.Name + ".next",
		StopFirst: stopFirst(q) || stopFirst(&nq) || !samePorts(q.Net, nq.Net), Net: nq.Net,
	}}
	return u.run(ctx)
}

// samePorts says whether two requests publish the same ports (which then
// move from the old container to its replacement).
func samePorts(a, b NetOptions) bool {
	if a.Mode != b.Mode || a.PublishAll != b.PublishAll || len(a.Publish) != len(b.Publish) {
		return false
	}
	x, y := slices.Clone(a.Publish), slices.Clone(b.Publish)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// serviceName is the name of the container ref names; also of a service
// whose update was killed between the removal of the old container and the
// renaming of the replacement (no container holds the name then, but its
// journal does: the update recovers it first).
func (r *Runtime) serviceName(ref string) (string, error) {
	old, err := r.lookup(ref)
	if err == nil {
		return old.Name, nil
	}
	if ids.ValidName(ref) {
		if _, serr := os.Stat(r.journalPath(ref)); serr == nil {
			return ref, nil
		}
	}
	return "", err
}

// stopFirst says whether a replacement cannot run beside the container:
// the same host network, address or network namespace. (Published ports
// that change are the other case: see samePorts.)
func stopFirst(q *request) bool {
	m := q.Net.Mode
	return m == NetworkHost || q.Net.IP != "" || strings.HasPrefix(m, networkContainer)
}

// updater is one update under way.
type updater struct {
	r    *Runtime
	opts UpdateOptions
	q    *request
	j    *journal
}

func (u *updater) run(ctx context.Context) (*UpdateResult, error) {
	res := &UpdateResult{Name: u.j.Name, Old: u.j.Old, StopFirst: u.j.StopFirst}
	if err := u.step(stepCreate); err != nil {
		return nil, err
	}
	fault.Point("update/after-journal")
	if u.j.StopFirst {
		// Stopped, and its address and ports let go for the replacement;
		// a rollback's start sets them up again (ensureNetwork).
		_, err := u.r.Stop(ctx, u.j.Old, -1)
		if err == nil {
			var rec *Record
			if rec, err = u.r.loadRecord(u.j.Old); err == nil {
				err = u.r.detachNetwork(rec)
			}
		}
		if err != nil {
			return res, u.rollback(ctx, res, fmt.Errorf("stop %s: %w", u.j.Name, err))
		}
	}
	id, err := u.r.RunDetached(ctx, u.replacement())
	if err != nil {
		return res, u.rollback(ctx, res, fmt.Errorf("the replacement did not start: %w", err))
	}
	u.j.New = id
	if err := u.step(stepWait); err != nil {
		return res, u.rollback(ctx, res, err)
	}
	fault.Point("update/after-create")
	if err := u.r.waitGood(ctx, id, u.opts); err != nil {
		return res, u.rollback(ctx, res, err)
	}
	fault.Point("update/after-healthy")
	if err := u.step(stepSwitch); err != nil {
		return res, u.rollback(ctx, res, err)
	}
	if err := u.r.finishUpdate(ctx, u.j); err != nil {
		return nil, err
	}
	res.Outcome, res.New = UpdateDone, id
	return res, nil
}

// replacement are the options of the new container: the old one's, with
// the new image, the temporary name and (beside the old one) no published
// ports yet.
func (u *updater) replacement() RunOptions {
	o := u.q.options()
	o.Image, o.Name, o.Pull = u.opts.Image, u.j.Temp, images.PullNever
	if !u.j.StopFirst {
		o.Net.Publish, o.Net.PublishAll = nil, false
	}
	o.Notice = u.opts.Notice
	return o
}

func (u *updater) step(s string) error {
	u.j.Step = s
	return u.r.writeJournal(u.j)
}

// rollback removes the replacement, starts the old container again if it
// was stopped, and records why in its record.
func (u *updater) rollback(ctx context.Context, res *UpdateResult, why error) error {
	_ = u.step(stepRollback)
	if err := u.r.rollbackUpdate(ctx, u.j, why.Error()); err != nil {
		return errors.Join(fmt.Errorf("%w: %w", ErrUpdateFailed, why), err)
	}
	res.Outcome, res.Reason, res.New = UpdateRolledBack, why.Error(), u.j.Old
	return fmt.Errorf("%w: %s still runs %s: %w", ErrUpdateFailed, u.j.Name, u.j.OldImage, why)
}

// waitGood waits until the replacement is healthy, or, without a health
// check, has run for opts.Wait; it fails when the replacement exits,
// restarts, becomes unhealthy or is not healthy within opts.Timeout.
func (r *Runtime) waitGood(ctx context.Context, id string, opts UpdateOptions) error {
	wait, timeout := opts.Wait, opts.Timeout
	if wait <= 0 {
		wait = DefaultUpdateWait
	}
	if timeout <= 0 {
		timeout = DefaultUpdateTimeout
	}
	start := time.Now()
	load := func() (*Record, error) {
		rec, err := r.loadRecord(id)
		if err != nil {
			return nil, fmt.Errorf("the replacement was removed meanwhile: %w", err)
		}
		return rec, nil
	}
	err := r.pollRecord(ctx, load, func(rec *Record, st *health.State) (bool, error) {
		switch {
		case rec.State != StateRunning || rec.RestartCount > 0:
			return false, fmt.Errorf("the replacement exited with code %d", rec.ExitCode)
		case rec.HealthCheck == nil:
			return time.Since(start) >= wait, nil
		}
		switch {
		case isHealthy(st):
			return true, nil
		case isUnhealthy(st):
			return false, fmt.Errorf("the replacement is unhealthy: %s", lastOutput(st))
		case time.Since(start) >= timeout:
			return false, fmt.Errorf("the replacement was not healthy within %v", timeout)
		}
		return false, nil
	})
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return fmt.Errorf("the update was interrupted: %w", err)
	}
	return err
}

func lastOutput(st *health.State) string {
	if len(st.Log) == 0 {
		return "no probe output"
	}
	l := st.Log[len(st.Log)-1]
	out := strings.TrimSpace(l.Output)
	if len(out) > 200 {
		out = out[:200] + "…"
	}
	return fmt.Sprintf("the check exited %d: %s", l.ExitCode, out)
}
