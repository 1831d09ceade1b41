package container

import (
	"context"
	"maps"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/internal/ids"
)

// Events reads the event journal (`edgerun events`): see events.Journal.Read.
// A runtime without a journal has no events.
func (r *Runtime) Events(ctx context.Context, q events.Query, fn func(events.Message) error) error {
	if r.cfg.Events == nil {
		return nil
	}
	return r.cfg.Events.Read(ctx, q, fn)
}

// event appends a container event: docker's attributes (the container's
// labels, its image and name) with extra's over them. It never fails the
// caller (see events.Journal.Append).
func (r *Runtime) event(rec *Record, action string, extra map[string]string) {
	if r.cfg.Events == nil {
		return
	}
	attrs := make(map[string]string, len(rec.Labels)+2+len(extra))
	maps.Copy(attrs, rec.Labels)
	attrs["image"], attrs["name"] = rec.Image, rec.Name
	maps.Copy(attrs, extra)
	r.cfg.Events.Append(events.New(events.Container, action, rec.ID, attrs))
}

// died appends how a run of the container ended: oom first when the
// kernel killed it for memory, then die with the exit code and how many
// seconds it ran, as docker's. A container that never started has no die.
func (r *Runtime) died(rec *Record) {
	if rec.StartedAt.IsZero() {
		return
	}
	if rec.oomUnseen {
		r.event(rec, "oom", nil)
		rec.oomUnseen = false
	}
	extra := map[string]string{"exitCode": strconv.Itoa(rec.ExitCode)}
	if !rec.FinishedAt.Before(rec.StartedAt) {
		extra["execDuration"] = strconv.Itoa(int(rec.FinishedAt.Sub(rec.StartedAt) / time.Second))
	}
	r.event(rec, "die", extra)
}

// killed appends the kill of a container with the signal's number.
func (r *Runtime) killed(rec *Record, sig unix.Signal) {
	r.event(rec, "kill", map[string]string{"signal": strconv.Itoa(int(sig))})
}

// signalEvent signals the container's init, and appends the kill when
// the signal was sent.
func (r *Runtime) signalEvent(rec *Record, sig unix.Signal) {
	if r.signalInit(rec, sig) == nil {
		r.killed(rec, sig)
	}
}

// volumeEvent appends an event of a named volume (create, destroy).
func (r *Runtime) volumeEvent(name, action string) {
	r.appendEvent(events.Volume, action, name, map[string]string{"driver": "local"})
}

// execEvent is the events of one exec: exec_create (appended by
// execEvents), exec_start and exec_die, under an exec ID of its own, as
// docker's.
type execEvent struct {
	r    *Runtime
	rec  *Record
	id   string
	args string
}

func (r *Runtime) execEvents(rec *Record, args []string) *execEvent {
	e := &execEvent{r: r, rec: rec, args: strings.Join(args, " ")}
	if r.cfg.Events == nil {
		return e
	}
	e.id, _ = ids.New()
	r.event(rec, events.WithDetail(events.ActionExecCreate, e.args), map[string]string{"execID": e.id})
	return e
}

func (e *execEvent) started() {
	e.r.event(e.rec, events.WithDetail(events.ActionExecStart, e.args), map[string]string{"execID": e.id})
}

func (e *execEvent) died(code int) {
	e.r.event(e.rec, "exec_die", map[string]string{"execID": e.id, "exitCode": strconv.Itoa(code)})
}

// appendEvent appends an event that is not a container's.
func (r *Runtime) appendEvent(typ events.Type, action, id string, attrs map[string]string) {
	if r.cfg.Events != nil {
		r.cfg.Events.Append(events.New(typ, action, id, attrs))
	}
}
