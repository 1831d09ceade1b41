package container

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/specgen"
)

// journalActions reads every event of the runtime's journal: TYPE ACTION
// NAME each.
func journalActions(t *testing.T, r *Runtime) string {
	t.Helper()
	var got []string
	err := r.Events(context.Background(), events.Query{Until: time.Now()}, func(m events.Message) error {
		got = append(got, string(m.Type)+" "+m.Action+" "+m.Actor.Attributes["name"]+m.Actor.Attributes["exitCode"])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(got, ", ")
}

func TestRunAppendsItsEventsAndARefusedRunNone(t *testing.T) {
	r := testRuntime(t)
	r.cfg.Events = events.Open(r.cfg.Root, events.Options{Warn: func(err error) { t.Error(err) }})
	if _, _, err := run(t, r, RunOptions{Name: "nope", Spec: specgen.SpecOptions{Args: []string{"/no/such/command"}}}); err == nil {
		t.Fatal("a run of a missing command succeeded")
	}
	if code, _, err := run(t, r, RunOptions{Name: "once", Remove: true, Spec: specgen.SpecOptions{Args: []string{"sh", "-c", "exit 3"}}}); err != nil || code != 3 {
		t.Fatalf("run: %d, %v; want 3", code, err)
	}
	if got, want := journalActions(t, r), "container create once, container start once, container die once3, container destroy once"; got != want {
		t.Errorf("journal: %s\nwant: %s (nothing of the refused run)", got, want)
	}
}
