package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/internal/gotmpl"
)

// journal is the event journal of the global --root, its write errors
// said on stderr (as a warning: an event never fails a command).
func (g *globalOptions) journal() *events.Journal {
	return events.Open(g.Root, events.Options{
		Warn: func(err error) { fmt.Fprintf(g.Stderr, "edgerun: warning: %v\n", err) },
	})
}

func newEventsCommand(g *globalOptions) *cobra.Command {
	var since, until, format string
	var filters []string
	cmd := &cobra.Command{
		Use:   "events [--since T] [--until T] [-f KEY=VALUE]... [--format TEMPLATE|json]",
		Short: "Print what happens to containers, images, volumes and networks",
		Long: "Print events from the journal every edgerun command appends to, as docker events:\n" +
			"without --since or --until, the events from now on, until interrupted; with --since,\n" +
			"the past ones first; with --until, it ends at that time. Times are RFC 3339, a\n" +
			"duration before now (10m) or Unix seconds. -f/--filter KEY=VALUE (container, event,\n" +
			"image, label, network, scope, type, volume) is repeatable.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now()
			var q events.Query
			var err error
			if q.Since, err = parseTime("--since", since, now); err != nil {
				return err
			}
			if q.Until, err = parseTime("--until", until, now); err != nil {
				return err
			}
			if q.Filter, err = events.ParseFilter(filters); err != nil {
				return err
			}
			print, err := eventPrinter(g.Stdout, format)
			if err != nil {
				return err
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			return rt.Events(cmd.Context(), q, print)
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "show events since a time (RFC 3339, a duration before now like 10m, or Unix seconds)")
	f.StringVar(&until, "until", "", "stop at a time (same forms); without it, follow until interrupted")
	f.StringArrayVarP(&filters, "filter", "f", nil, "only matching events: KEY=VALUE, KEY one of "+strings.Join(events.FilterKeys, ", "))
	f.StringVar(&format, "format", "", "json (one JSON object per event, as docker's) or a Go template ({{.Type}} {{.Action}} {{.Actor.ID}})")
	return cmd
}

// eventPrinter returns what prints one event: docker's line (time, type,
// action, actor and its attributes), its JSON, or a template over docker's
// fields. A template is tried on an empty event first, so a bad one fails
// before anything is read (as docker's CLI does).
func eventPrinter(w io.Writer, format string) (func(events.Message) error, error) {
	switch format {
	case "":
		return func(m events.Message) error {
			_, err := io.WriteString(w, eventLine(m))
			return err
		}, nil
	case "json":
		return func(m events.Message) error {
			b, err := json.Marshal(m)
			if err == nil {
				_, err = fmt.Fprintf(w, "%s\n", b)
			}
			return err
		}, nil
	}
	t, err := gotmpl.Parse(strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format))
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	t.MissingKeysAreNil() // attributes are a Go map in docker's events.Message
	if err := t.Execute(io.Discard, eventData(events.Message{})); err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	return func(m events.Message) error {
		var b bytes.Buffer
		if err := t.Execute(&b, eventData(m)); err != nil {
			return err
		}
		b.WriteByte('\n')
		_, err := w.Write(b.Bytes())
		return err
	}, nil
}

// eventLine is docker's default line: 2026-03-01T10:00:00.000000000+01:00
// container start ID (image=busybox, name=web).
func eventLine(m events.Message) string {
	var b strings.Builder
	b.WriteString(time.Unix(0, m.TimeNano).Format("2006-01-02T15:04:05.000000000Z07:00"))
	fmt.Fprintf(&b, " %s %s %s", m.Type, m.Action, m.Actor.ID)
	if len(m.Actor.Attributes) > 0 {
		keys := make([]string, 0, len(m.Actor.Attributes))
		for k := range m.Actor.Attributes {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			sep := ", "
			if i == 0 {
				sep = " ("
			}
			b.WriteString(sep + k + "=" + m.Actor.Attributes[k])
		}
		b.WriteString(")")
	}
	b.WriteString("\n")
	return b.String()
}

// eventData is what templates read: docker's Go field names (.Status,
// .TimeNano), while {{json .}} writes docker's JSON ("status", "timeNano").
func eventData(m events.Message) gotmpl.Object {
	attrs := make(map[string]any, len(m.Actor.Attributes))
	for k, v := range m.Actor.Attributes {
		attrs[k] = v
	}
	return gotmpl.Object{Value: m, Fields: map[string]any{
		"Status": m.Status, "ID": m.ID, "From": m.From, "Type": string(m.Type), "Action": m.Action,
		"Actor": gotmpl.Object{Value: m.Actor, Fields: map[string]any{"ID": m.Actor.ID, "Attributes": attrs}},
		"Scope": m.Scope, "Time": json.Number(strconv.FormatInt(m.Time, 10)),
		"TimeNano": json.Number(strconv.FormatInt(m.TimeNano, 10)),
	}}
}
