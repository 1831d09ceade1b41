package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// event is a line of `events --format json`: docker's events.Message.
type event struct {
	Status string `json:"status"`
	ID     string `json:"id"`
	From   string `json:"from"`
	Type   string
	Action string
	Actor  struct {
		ID         string
		Attributes map[string]string
	}
	Scope    string `json:"scope"`
	Time     int64  `json:"time"`
	TimeNano int64  `json:"timeNano"`
}

// eventsJSON runs `events --format json` with args and parses its lines.
func (e *env) eventsJSON(args ...string) []event {
	e.t.Helper()
	out := e.must(append([]string{"events", "--format", "json"}, args...)...)
	var evs []event
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var ev event
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			e.t.Fatalf("events printed %q: %v", line, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// actions are the actions of the events about one actor (a container's
// ID), in order.
func actions(evs []event, actor string) []string {
	var out []string
	for _, ev := range evs {
		if ev.Actor.ID == actor {
			out = append(out, ev.Action)
		}
	}
	return out
}

// unixArg is t as the Unix seconds --since and --until take.
func unixArg(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + "." + strconv.Itoa(t.Nanosecond() + 1e9)[1:]
}

func TestEventsRecordsTheLifeOfAContainer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	since := time.Now()
	r := e.run("run", "--name", "fg", "-l", "com.example.tier=edge", "busybox", "sh", "-c", "exit 3")
	if r.code != 3 {
		t.Fatalf("run: %s, want exit 3", r)
	}
	fg := e.inspect("fg").ID
	e.must("rm", "fg")
	bg := e.runD("--name", "bg", "busybox", "sh", "-c", "sleep 0.2; exit 4")
	e.waitFor("bg", "its exit", func(l lifeRecord) bool { return l.State == "exited" })
	e.must("rm", "bg")

	evs := e.eventsJSON("--since", unixArg(since), "--until", "0s")
	for _, c := range []struct{ name, id string }{{"fg", fg}, {"bg", bg}} {
		if got := strings.Join(actions(evs, c.id), " "); got != "create start die destroy" {
			t.Errorf("%s: events %q, want create start die destroy in order", c.name, got)
		}
	}
	for _, ev := range evs {
		if ev.Actor.ID == "" || ev.Type != "container" {
			t.Errorf("an event %+v besides the containers' since --since", ev)
			continue
		}
		a := ev.Actor.Attributes
		if a["name"] == "" || a["image"] != "busybox" || ev.From != "busybox" || ev.Status != ev.Action ||
			ev.ID != ev.Actor.ID || ev.Scope != "local" || ev.Time != ev.TimeNano/1e9 || ev.TimeNano < since.UnixNano() {
			t.Errorf("event %+v: want docker's fields (name, image, from, status, id, local scope, its time after --since)", ev)
		}
		if a["name"] == "fg" && a["com.example.tier"] != "edge" {
			t.Errorf("event %+v: want the container's label among its attributes", ev)
		}
		if ev.Action == "die" {
			want := map[string]string{"fg": "3", "bg": "4"}[a["name"]]
			if a["exitCode"] != want || a["execDuration"] == "" {
				t.Errorf("die of %s: %+v, want exitCode %s and execDuration", a["name"], a, want)
			}
		}
	}
	// --until ends the read at a time: here, fg's die.
	var die event
	for _, ev := range evs {
		if ev.Actor.ID == fg && ev.Action == "die" {
			die = ev
		}
	}
	upTo := e.eventsJSON("--since", unixArg(since), "--until", unixArg(time.Unix(0, die.TimeNano)))
	if got := strings.Join(actions(upTo, fg), " "); got != "create start die" || len(upTo) != 3 {
		t.Errorf("--until fg's die: %d events, fg's %q; want fg's create start die and nothing else", len(upTo), got)
	}
	// Without --since, past events are not shown: --until alone shows
	// the journal up to then, so the load is there.
	if all := e.eventsJSON("--until", "0s"); len(all) <= len(evs) || all[0].Type != "image" || all[0].Action != "load" {
		t.Errorf("--until alone: %d events from %+v, want the load first and every event since", len(all), all[0])
	}
	// The journal is no leftover to check.
	if r := e.run("check"); r.code != 0 || strings.TrimSpace(r.stdout) != "nothing to repair" {
		t.Errorf("check with an event journal: %s, want nothing to repair", r)
	}
}

// watching waits until the background command's process watches the
// journal (an inotify descriptor): what is appended from then on reaches it.
func (b *background) watching(t *testing.T) {
	t.Helper()
	fds := filepath.Join("/proc", strconv.Itoa(b.cmd.Process.Pid), "fd")
	deadline := time.Now().Add(cmdTimeout)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir(fds)
		for _, ent := range ents {
			if l, _ := os.Readlink(filepath.Join(fds, ent.Name())); l == "anon_inode:inotify" {
				return
			}
		}
		select {
		case <-b.done:
			t.Fatalf("events ended: %v; stderr: %s", b.err, b.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("events did not watch the journal within %v", cmdTimeout)
}

func TestEventsFollowsNewEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.must("create", "--name", "before", "busybox", "true") // in the past: not shown
	b := e.start("events", "--filter", "container=followed", "--format", "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}")
	b.watching(t)
	e.runD("--name", "other", "busybox", "true") // filtered out
	e.runD("--name", "followed", "busybox", "sh", "-c", "sleep 0.3; exit 7")
	b.waitLine(t, "create followed <no value>")
	b.waitLine(t, "start followed <no value>")
	b.waitLine(t, "die followed 7")
	// Following goes on until interrupted, as docker's; then it exits 0.
	select {
	case <-b.done:
		t.Fatalf("events ended by itself: %v; stderr: %s", b.err, b.stderr.String())
	default:
	}
	if err := b.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	code, rest := b.wait(t)
	if code != 0 || strings.Contains(rest, "other") || strings.Contains(rest, "before") {
		t.Errorf("events after an interrupt: exit %d, more output %q; want exit 0 and nothing of other containers", code, rest)
	}
	e.waitFor("other", "its exit", func(l lifeRecord) bool { return l.State == "exited" })
	e.must("rm", "before", "other", "followed")
}

func TestEventsFilterAndFormat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	since := unixArg(time.Now())
	e.must("tag", "busybox", "mybox:1")
	e.must("rmi", "mybox:1")
	e.must("volume", "create", "data")
	e.must("volume", "rm", "data")
	e.runD("--name", "svc", "-l", "com.example.tier=edge", "--health-cmd", "true", "--health-interval", "200ms",
		"busybox", "sh", "-c", termable)
	e.waitHealth("svc", "healthy", status("healthy"))
	if r := e.run("exec", "svc", "sh", "-c", "exit 5"); r.code != 5 {
		t.Fatalf("exec: %s, want exit 5", r)
	}
	e.must("rename", "svc", "svc2")
	e.must("kill", "-s", "HUP", "svc2")
	e.must("stop", "svc2")
	e.must("rm", "svc2")
	e.runD("--name", "plain", "busybox", "true")
	e.waitFor("plain", "its exit", func(l lifeRecord) bool { return l.State == "exited" })
	e.must("rm", "plain")

	query := func(args ...string) string {
		t.Helper()
		return strings.TrimSpace(e.must(append([]string{"events", "--since", since, "--until", "0s"}, args...)...))
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-f", "type=image", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"},
			"image tag mybox:1\nimage untag mybox:1"},
		{[]string{"--filter", "type=volume", "--format", "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}} {{.Status}}"},
			"create data local \ndestroy data local"},
		{[]string{"-f", "label=com.example.tier=edge", "-f", "event=kill", "--format", "{{.Actor.Attributes.name}} {{.Actor.Attributes.signal}}"},
			"svc2 1\nsvc2 15"},
		{[]string{"-f", "event=health_status", "--format", "{{.Action}}"}, "health_status: healthy"},
		{[]string{"-f", "event=rename", "--format", "{{.Actor.Attributes.oldName}}->{{.Actor.Attributes.name}}"}, "svc->svc2"},
		{[]string{"-f", "container=svc", "-f", "event=stop", "-f", "event=destroy", "--format", "{{.Action}}"}, "stop\ndestroy"},
		{[]string{"-f", "image=busybox", "-f", "container=plain", "--format", "{{.Action}}"}, "create\nstart\ndie\ndestroy"},
		{[]string{"-f", "type=network"}, ""},
	} {
		if got := query(tt.args...); got != tt.want {
			t.Errorf("events %v:\n%s\nwant\n%s", tt.args, got, tt.want)
		}
	}
	// An exec's events share its exec ID; exec_create and exec_start
	// carry the command in the action, as docker's.
	execs := query("-f", "event=exec_create", "-f", "event=exec_start", "-f", "event=exec_die",
		"--format", "{{.Action}}|{{.Actor.Attributes.execID}}|{{.Actor.Attributes.exitCode}}")
	m := regexp.MustCompile(`^exec_create: sh -c exit 5\|([0-9a-f]{64})\|<no value>\nexec_start: sh -c exit 5\|([0-9a-f]{64})\|<no value>\nexec_die\|([0-9a-f]{64})\|5$`).FindStringSubmatch(execs)
	if m == nil || m[1] != m[2] || m[2] != m[3] {
		t.Errorf("exec events:\n%s\nwant exec_create, exec_start and exec_die (exit code 5) of one exec ID", execs)
	}
	// json is docker's JSON; {{json .}} too, with its keys.
	line := strings.Split(query("-f", "container=plain", "--format", "{{json .}}"), "\n")[0]
	if !regexp.MustCompile(`^\{"status":"create","id":"[0-9a-f]{64}","from":"busybox","Type":"container","Action":"create",` +
		`"Actor":\{"ID":"[0-9a-f]{64}","Attributes":\{"image":"busybox","name":"plain"\}\},"scope":"local","time":\d+,"timeNano":\d+\}$`).MatchString(line) {
		t.Errorf("{{json .}}: %s, want docker's JSON", line)
	}
	if j := strings.Split(query("-f", "container=plain", "--format", "json"), "\n")[0]; j != line {
		t.Errorf("--format json %s, want what {{json .}} prints, %s", j, line)
	}
	// The default line: time, type, action, actor, sorted attributes.
	def := strings.Split(query("-f", "container=plain", "-f", "event=die"), "\n")
	if len(def) != 1 || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) container die [0-9a-f]{64} `+
		`\(execDuration=\d+, exitCode=0, image=busybox, name=plain\)$`).MatchString(def[0]) {
		t.Errorf("default format: %q, want docker's line", def)
	}
	for _, bad := range [][]string{
		{"--filter", "name=plain"}, {"--filter", "type=pod"}, {"--format", "{{.Nope}}"}, {"--format", "{{"},
		{"--since", "yesterday"}, {"--until", "soon"},
	} {
		if r := e.run(append([]string{"events", "--until", "0s"}, bad...)...); r.code != 1 || r.stdout != "" ||
			!strings.Contains(r.stderr, strings.TrimPrefix(bad[0], "--")) && !strings.Contains(r.stderr, "filter") {
			t.Errorf("events %v: %s, want exit 1 saying what is wrong, before printing anything", bad, r)
		}
	}
}
