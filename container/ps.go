package container

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"

	"github.com/edgerun/edgerun/health"
)

// PsEntry is one container as `ps` shows it, with docker's field names
// (they are the names of `ps --format` templates, and `ps --format json`
// prints them, one object per line, as docker does).
type PsEntry struct {
	ID           string `json:"ID"`
	Image        string `json:"Image"`
	Command      string `json:"Command"` // quoted, as docker
	CreatedAt    string `json:"CreatedAt"`
	RunningFor   string `json:"RunningFor"`
	Ports        string `json:"Ports"`
	State        string `json:"State"`
	Status       string `json:"Status"`
	Size         string `json:"Size"` // with -s only
	Names        string `json:"Names"`
	Labels       string `json:"Labels"` // k=v,k=v
	Mounts       string `json:"Mounts"`
	Networks     string `json:"Networks"`
	LocalVolumes string `json:"LocalVolumes"`
	// LabelMap is Labels as a map, for the template method .Label "k".
	LabelMap map[string]string `json:"-"`
}

// PsOptions select and shape the containers of ps.
type PsOptions struct {
	All     bool     // -a: stopped containers too
	Filters []string // --filter KEY=VALUE
	Last    int      // -n: the Last newest containers, any state (0: all)
	NoTrunc bool     // --no-trunc: full IDs and commands
	Size    bool     // -s: the writable layer's size
	// Now is the time RunningFor and Status count from (zero: now).
	Now time.Time
}

// psFilterKeys are the keys of ps --filter.
var psFilterKeys = []string{"ancestor", "exited", "health", "id", "label", "name", "status"}

// ParsePsFilters checks --filter values: KEY=VALUE with a known key and,
// for status, exited and health, a known value. Values of one key are
// alternatives; different keys must all match.
func ParsePsFilters(fs []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, f := range fs {
		k, v, ok := strings.Cut(f, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || v == "" && k != "label" || !slices.Contains(psFilterKeys, k) {
			return nil, fmt.Errorf("%w %q: use KEY=VALUE with KEY one of %s", ErrInvalidFilter, f, strings.Join(psFilterKeys, ", "))
		}
		switch k {
		case "status":
			if !slices.Contains([]string{"created", "restarting", "running", "removing", "paused", "exited", "dead"}, v) {
				return nil, fmt.Errorf("%w %q: status is one of created, restarting, running, removing, paused, exited, dead", ErrInvalidFilter, f)
			}
		case "health":
			if !slices.Contains([]string{health.Starting, health.Healthy, health.Unhealthy, "none"}, v) {
				return nil, fmt.Errorf("%w %q: health is one of starting, healthy, unhealthy, none", ErrInvalidFilter, f)
			}
		case "exited":
			if _, err := strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("%w %q: exited takes an exit code", ErrInvalidFilter, f)
			}
		case "name":
			if _, err := regexp.Compile(v); err != nil {
				return nil, fmt.Errorf("%w %q: %w", ErrInvalidFilter, f, err)
			}
		}
		out[k] = append(out[k], v)
	}
	return out, nil
}

// Ps lists containers as ps shows them, newest first.
func (r *Runtime) Ps(opts PsOptions) ([]PsEntry, error) {
	filters, err := ParsePsFilters(opts.Filters)
	if err != nil {
		return nil, err
	}
	// Like docker: -n, a status or an exit code filter looks at stopped
	// containers without -a.
	all := opts.All || opts.Last > 0 || filters["status"] != nil || filters["exited"] != nil
	recs, err := r.Containers(all)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	var out []PsEntry
	for _, rec := range recs {
		h := r.Health(rec)
		if !matchPs(rec, h, filters) {
			continue
		}
		if opts.Last > 0 && len(out) == opts.Last {
			break
		}
		e := psEntry(rec, h, now, time.Local, opts.NoTrunc)
		if opts.Size {
			e.Size = r.sizeRw(rec)
		}
		out = append(out, e)
	}
	return out, nil
}

// matchPs applies the filters: any value of a key, every key.
func matchPs(rec *Record, h *health.State, filters map[string][]string) bool {
	for k, vs := range filters {
		if !slices.ContainsFunc(vs, func(v string) bool { return matchPsFilter(rec, h, k, v) }) {
			return false
		}
	}
	return true
}

func matchPsFilter(rec *Record, h *health.State, key, v string) bool {
	switch key {
	case "name":
		re, err := regexp.Compile(v)
		return err == nil && re.MatchString(rec.Name)
	case "id":
		return strings.HasPrefix(rec.ID, v)
	case "status":
		return string(rec.State) == v
	case "exited":
		code, _ := strconv.Atoi(v)
		return rec.State == StateExited && rec.ExitCode == code
	case "label":
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := rec.Labels[k]
		return ok && (!hasValue || got == want)
	case "health":
		if h == nil {
			return v == "none"
		}
		return h.Status == v
	case "ancestor":
		return matchAncestor(rec, v)
	}
	return false
}

// matchAncestor says whether the container runs image v: its name as run,
// that name without its tag, or a prefix of its digest.
func matchAncestor(rec *Record, v string) bool {
	name := familiar(rec.Image)
	if v == rec.Image || familiar(v) == name {
		return true
	}
	if !hasTag(v) && repository(familiar(v)) == repository(name) {
		return true // a name without a tag: any tag
	}
	hex := strings.TrimPrefix(v, "sha256:")
	return len(hex) >= 4 && strings.HasPrefix(rec.ImageDigest.Encoded(), hex)
}

// familiar is docker's short spelling of an image name, with :latest.
func familiar(n string) string {
	for _, p := range []string{"index.docker.io/", "docker.io/", "library/"} {
		n = strings.TrimPrefix(n, p)
	}
	if !hasTag(n) && !strings.Contains(n, "@") {
		n += ":latest"
	}
	return n
}

// hasTag says whether an image name has a :tag (not a registry's :port).
func hasTag(n string) bool { return strings.LastIndex(n, ":") > strings.LastIndex(n, "/") }

// repository is an image name without its tag.
func repository(n string) string {
	if hasTag(n) {
		return n[:strings.LastIndex(n, ":")]
	}
	return n
}

func psEntry(rec *Record, h *health.State, now time.Time, loc *time.Location, noTrunc bool) PsEntry {
	e := PsEntry{
		ID: rec.ID, Image: rec.Image, State: string(rec.State), Names: rec.Name,
		CreatedAt: rec.Created.In(loc).Format("2006-01-02 15:04:05 -0700 MST"), RunningFor: ago(rec.Created, now),
		Status: Status(rec, h, now), LabelMap: rec.Labels, Networks: strings.Join(rec.Network.Names(), ","),
		LocalVolumes: strconv.Itoa(len(rec.Volumes)), Mounts: strings.Join(rec.Volumes, ","),
	}
	if e.LabelMap == nil {
		e.LabelMap = map[string]string{}
	}
	cmd := strings.Join(rec.Command, " ")
	if !noTrunc {
		e.ID = rec.ID[:min(12, len(rec.ID))]
		cmd = ellipsis(cmd, 20)
	}
	e.Command = strconv.Quote(cmd)
	if rec.State == StateRunning { // like docker: a stopped container's ports are not shown
		e.Ports = rec.Ports()
	}
	var labels []string
	for k, v := range rec.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	e.Labels = strings.Join(labels, ",")
	return e
}

// Status is docker's status column: Up 5 minutes (healthy), Exited (0) 2
// hours ago, with edgerun's notes on how a container ended.
func Status(rec *Record, h *health.State, now time.Time) string {
	switch rec.State {
	case StateRunning:
		s := "Up " + duration(rec.StartedAt, now)
		switch {
		case rec.Paused: // as docker: a paused container's status says Paused, not its health
			s += " (Paused)"
		case h != nil:
			s += " " + h.Summary()
		}
		return s
	case StateCreated:
		return "Created"
	case StateExited:
		s := fmt.Sprintf("Exited (%d) %s", rec.ExitCode, ago(rec.FinishedAt, now))
		if rec.OOMKilled {
			s += " (OOM killed)"
		}
		switch {
		case rec.MonitorLost:
			s += " (monitor lost: edgerun start " + rec.Name + ")"
		case rec.HostRestarted:
			s += " (host restarted)"
		}
		return s
	case StateRestarting:
		s := fmt.Sprintf("Restarting (%d) %s", rec.ExitCode, ago(rec.FinishedAt, now))
		if rec.Error != "" {
			// The cause, without libcontainer's "unable to start ..." prefix.
			cause := rec.Error
			if i := strings.LastIndex(cause, "container init: "); i >= 0 {
				cause = cause[i+len("container init: "):]
			}
			s += " (start failed: " + ellipsis(cause, 60) + ")"
		}
		return s
	}
	return string(rec.State)
}

func duration(t, now time.Time) string {
	if t.IsZero() || t.Unix() <= 0 {
		return "-"
	}
	return units.HumanDuration(now.Sub(t))
}

func ago(t, now time.Time) string {
	if t.IsZero() || t.Unix() <= 0 {
		return "-"
	}
	return duration(t, now) + " ago"
}

// ellipsis shortens s to n characters, the last one "…".
func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// sizeRw is ps -s's size: the bytes of the container's writable layer
// (the overlay upper dir, or the copied root file system) and, as
// virtual, with its image's.
func (r *Runtime) sizeRw(rec *Record) string {
	size := r.WritableSize(rec)
	s := units.HumanSizeWithPrecision(float64(size), 3)
	if store, err := r.Images(); err == nil {
		if img, err := store.Get(rec.ImageDigest.String()); err == nil {
			s += " (virtual " + units.HumanSizeWithPrecision(float64(size+img.Size), 3) + ")"
		}
	}
	return s
}
