package events

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clock is a settable Options.Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestReadSinceUntilAndFilter(t *testing.T) {
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	c := &clock{t: base}
	j := Open(t.TempDir(), Options{Now: c.now})
	add := func(at time.Duration, typ Type, action, id string, attrs map[string]string) {
		c.t = base.Add(at)
		j.Append(New(typ, action, id, attrs))
	}
	web := map[string]string{"name": "web", "image": "busybox:latest", "tier": "front"}
	db := map[string]string{"name": "db", "image": "docker.io/library/postgres:16", "tier": "back"}
	add(0, Image, "pull", "busybox:latest", map[string]string{"name": "busybox"})
	add(1*time.Second, Container, "create", "aaa111", web)
	add(2*time.Second, Container, "start", "aaa111", web)
	add(3*time.Second, Container, "create", "bbb222", db)
	add(4*time.Second, Container, ActionHealthStatus+": healthy", "aaa111", web)
	add(5*time.Second, Container, "die", "aaa111", map[string]string{"name": "web", "image": "busybox:latest", "exitCode": "0"})
	add(6*time.Second, Volume, "create", "data", map[string]string{"driver": "local"})
	add(7*time.Second, Image, "tag", "sha256:0123", map[string]string{"name": "busybox:1"})
	c.t = base.Add(time.Hour)

	at := base.Add
	for _, tt := range []struct {
		name         string
		since, until time.Time
		filters      []string
		want         string // Type:Action:ID of each event read
	}{
		{"everything", at(0), c.t, nil,
			"image:pull:busybox:latest container:create:aaa111 container:start:aaa111 container:create:bbb222 " +
				"container:health_status: healthy:aaa111 container:die:aaa111 volume:create:data image:tag:sha256:0123"},
		{"since and until, both included", at(2 * time.Second), at(4 * time.Second), nil,
			"container:start:aaa111 container:create:bbb222 container:health_status: healthy:aaa111"},
		{"until alone: the whole journal up to it", time.Time{}, at(1 * time.Second), nil,
			"image:pull:busybox:latest container:create:aaa111"},
		{"container by name", at(0), c.t, []string{"container=web"},
			"container:create:aaa111 container:start:aaa111 container:health_status: healthy:aaa111 container:die:aaa111"},
		{"container by ID prefix, or another name", at(0), c.t, []string{"container=bbb", "container=nothing"},
			"container:create:bbb222"},
		{"event and container", at(0), c.t, []string{"event=die", "event=create", "container=web"},
			"container:create:aaa111 container:die:aaa111"},
		{"health_status matches every status", at(0), c.t, []string{"event=health_status"},
			"container:health_status: healthy:aaa111"},
		{"type", at(0), c.t, []string{"type=volume"}, "volume:create:data"},
		{"type never recorded", at(0), c.t, []string{"type=daemon"}, ""},
		{"image by name without tag: image events and containers of it", at(0), c.t, []string{"image=busybox", "event=pull", "event=create"},
			"image:pull:busybox:latest container:create:aaa111"},
		{"image by a docker.io name", at(0), c.t, []string{"image=postgres"}, "container:create:bbb222"},
		{"image by ID", at(0), c.t, []string{"image=sha256:0123"}, "image:tag:sha256:0123"},
		{"labels: all must match", at(0), c.t, []string{"label=tier=back", "label=name"}, "container:create:bbb222"},
		{"label key only", at(0), c.t, []string{"label=tier", "event=start"}, "container:start:aaa111"},
		{"volume", at(0), c.t, []string{"volume=da"}, "volume:create:data"},
		{"scope", at(0), c.t, []string{"scope=swarm"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParseFilter(tt.filters)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			err = j.Read(context.Background(), Query{Since: tt.since, Until: tt.until, Filter: f}, func(m Message) error {
				got = append(got, fmt.Sprintf("%s:%s:%s", m.Type, m.Action, m.Actor.ID))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("read\n%s\nwant\n%s", g, tt.want)
			}
		})
	}
}

func TestParseFilterRefuses(t *testing.T) {
	for _, bad := range []string{"name=web", "container", "container=", "type=pod", "scope=global", "=x"} {
		if _, err := ParseFilter([]string{bad}); !errors.Is(err, ErrInvalidFilter) || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseFilter(%q) = %v, want ErrInvalidFilter naming it", bad, err)
		}
	}
	if f, err := ParseFilter([]string{"Type=container", "label=a=b=c"}); err != nil ||
		!f.Match(New(Container, "start", "x", map[string]string{"a": "b=c"})) {
		t.Errorf("ParseFilter of a mixed-case key and a label with '=' in its value: %v", err)
	}
}

func TestMessageIsDockersShape(t *testing.T) {
	m := New(Container, "die", "abc", map[string]string{"name": "web", "image": "busybox", "exitCode": "3"})
	m.Time, m.TimeNano = 1700000000, 1700000000123456789
	b, err := encode(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":"die","id":"abc","from":"busybox","Type":"container","Action":"die","Actor":{"ID":"abc",` +
		`"Attributes":{"exitCode":"3","image":"busybox","name":"web"}},"scope":"local","time":1700000000,"timeNano":1700000000123456789}` + "\n"
	if string(b) != want {
		t.Errorf("line\n%s\nwant docker's\n%s", b, want)
	}
	v, _ := encode(New(Volume, "create", "data", map[string]string{"driver": "local"}))
	if strings.Contains(string(v), `"status"`) || !strings.Contains(string(v), `"Actor":{"ID":"data"`) {
		t.Errorf("a volume event has no deprecated fields in docker: %s", v)
	}
}

// follower reads the journal in the background and hands each event on.
func follow(t *testing.T, j *Journal, q Query) (<-chan Message, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan Message, 1024)
	done := make(chan error, 1)
	go func() {
		done <- j.Read(ctx, q, func(m Message) error { ch <- m; return nil })
		close(ch)
	}()
	return ch, func() error { cancel(); return <-done }
}

func next(t *testing.T, ch <-chan Message) Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("the follower stopped")
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return Message{}
}

func TestFollowSeesNewEventsAcrossRotations(t *testing.T) {
	j := Open(t.TempDir(), Options{MaxSize: 4 << 10}) // about 12 events a file
	appendSeq(j, "old", 3)
	ch, stop := follow(t, j, Query{})
	// The follower shows only what comes after it started; it may not
	// have opened the journal yet, so the first event is retried.
	var first Message
	for first.Actor.ID == "" {
		j.Append(New(Container, "start", "probe", map[string]string{"seq": "0"}))
		select {
		case first = <-ch:
		case <-time.After(50 * time.Millisecond):
		}
	}
	if first.Actor.ID != "probe" {
		t.Fatalf("first event %+v, want the probe (no past events without --since)", first)
	}
	// Bursts of 5 across many rotations, each read before the next.
	for burst := range 20 {
		for i := range 5 {
			j.Append(New(Container, "start", "new", map[string]string{"seq": strconv.Itoa(burst*5 + i),
				"pad": strings.Repeat("p", 200)}))
		}
		for i := range 5 {
			m := next(t, ch)
			for m.Actor.ID == "probe" { // a retried probe, read late
				m = next(t, ch)
			}
			if want := strconv.Itoa(burst*5 + i); m.Actor.ID != "new" || m.Actor.Attributes["seq"] != want {
				t.Fatalf("event %+v, want new %s", m.Actor, want)
			}
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestFollowAfterThePastAndUntil(t *testing.T) {
	j := Open(t.TempDir(), Options{})
	appendSeq(j, "past", 2)
	since := time.Now().Add(-time.Minute)
	until := time.Now().Add(2 * time.Second)
	ch, stop := follow(t, j, Query{Since: since, Until: until})
	for i := range 2 {
		if m := next(t, ch); m.Actor.ID != "past" || m.Actor.Attributes["seq"] != strconv.Itoa(i) {
			t.Fatalf("event %+v, want the past ones first", m.Actor)
		}
	}
	j.Append(New(Container, "start", "live", nil))
	if m := next(t, ch); m.Actor.ID != "live" {
		t.Fatalf("event %+v, want the live one", m.Actor)
	}
	// --until in the future: the read ends by itself when it passes.
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("an event after the last one")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the read did not end when --until passed")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestFollowBeforeTheJournalExists(t *testing.T) {
	root := t.TempDir()
	j := Open(root, Options{})
	ch, stop := follow(t, j, Query{})
	time.Sleep(100 * time.Millisecond) // let it watch the empty journal
	other := Open(root, Options{})     // another process's journal
	other.Append(New(Image, "pull", "busybox:latest", nil))
	if m := next(t, ch); m.Action != "pull" {
		t.Fatalf("event %+v, want the pull", m)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(j.previous()); err == nil {
		t.Error("a previous file without a rotation")
	}
}

func TestReadStopsAtTheCallbacksError(t *testing.T) {
	j := Open(t.TempDir(), Options{})
	appendSeq(j, "w", 3)
	stopErr := errors.New("stdout closed")
	n := 0
	err := j.Read(context.Background(), Query{Since: time.Unix(1, 0), Until: time.Now()}, func(Message) error { n++; return stopErr })
	if !errors.Is(err, stopErr) || n != 1 {
		t.Errorf("Read = %v after %d events, want the callback's error after 1", err, n)
	}
}
