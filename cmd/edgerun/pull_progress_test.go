package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/edgerun/edgerun/image"
)

func pullEvents() []image.PullEvent {
	const d = "sha256:2f268622ad8049693f1425279dba372c64cf56fc0b9800ed5cfbf7ac9ef1e724"
	return []image.PullEvent{
		{Kind: image.PullResolved, Ref: "localhost:5000/sensor:1", Digest: d, Size: 4_000_000},
		{Kind: image.PullLayer, Digest: d, Size: 4_000_000, Current: 1_000_000},
		{Kind: image.PullProgress, Digest: d, Size: 4_000_000, Current: 1_500_000},
		{Kind: image.PullRetry, Digest: d, Attempt: 1, Error: "connection lost"},
		{Kind: image.PullProgress, Digest: d, Size: 4_000_000, Current: 2_100_000},
		{Kind: image.PullProgress, Digest: d, Size: 4_000_000, Current: 4_000_000},
		{Kind: image.PullDownloaded, Digest: d, Size: 4_000_000},
		{Kind: image.PullUnpacked, Digest: d, Size: 4_000_000},
		{Kind: image.PullDone, Digest: d, Size: 3_000_000},
	}
}

func TestPullProgressLinesWhenNotATerminal(t *testing.T) {
	var buf bytes.Buffer
	p, err := newPullProgress(&buf, "", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pullEvents() {
		p.event(e)
	}
	p.finish(nil)
	want := []string{
		"Pulling localhost:5000/sensor:1 (2f268622ad80, 4.0 MB of layers)",
		"2f268622ad80: resuming at 1.0 MB of 4.0 MB",
		"2f268622ad80: 1.5 MB of 4.0 MB",
		"2f268622ad80: retry 1: connection lost",
		"2f268622ad80: 2.1 MB of 4.0 MB",
		"2f268622ad80: downloaded 4.0 MB",
		"2f268622ad80: unpacked",
	}
	if got := strings.Split(strings.TrimSpace(buf.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", buf.String(), strings.Join(want, "\n"))
	}
}

func TestPullProgressJSONEvents(t *testing.T) {
	var buf bytes.Buffer
	p, err := newPullProgress(&buf, "json", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pullEvents() {
		p.event(e)
	}
	p.finish(nil)
	var kinds []string
	var last image.PullEvent
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var e image.PullEvent
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("not a JSON event: %q: %v", l, err)
		}
		if e.Kind == image.PullProgress {
			last = e // progress below 100% is throttled per layer
			continue
		}
		kinds = append(kinds, string(e.Kind))
	}
	if want := "resolved layer retry downloaded unpacked done"; strings.Join(kinds, " ") != want {
		t.Fatalf("events %v, want %s", kinds, want)
	}
	if last.Kind != image.PullProgress || last.Current != last.Size {
		t.Fatalf("the finished layer's progress is missing: last progress %+v", last)
	}
}

func TestPullProgressQuietAndBadFormat(t *testing.T) {
	var buf bytes.Buffer
	p, _ := newPullProgress(&buf, "", true)
	for _, e := range pullEvents() {
		p.event(e)
	}
	p.finish(nil)
	if buf.Len() != 0 {
		t.Fatalf("-q printed %q", buf.String())
	}
	if _, err := newPullProgress(&buf, "yaml", false); err == nil || !strings.Contains(err.Error(), "only json") {
		t.Fatalf("--format yaml: err = %v", err)
	}
}

// TestPullProgressBarsRedrawInPlace: on a terminal, each layer is one line
// redrawn in place (cursor up, clear to the end), messages go above the
// bars, and the last frame shows the layer done and full.
func TestPullProgressBarsRedrawInPlace(t *testing.T) {
	var buf bytes.Buffer
	p := &pullProgress{w: &buf, mode: "bars", last: map[string]time.Time{}, tick: map[string]int64{}}
	for _, e := range pullEvents() {
		p.event(e)
	}
	p.finish(nil)
	out := buf.String()
	if !strings.HasPrefix(out, "\x1b[JPulling localhost:5000/sensor:1 (2f268622ad80)\n") {
		t.Fatalf("output does not start with the header: %q", out)
	}
	retry := strings.Index(out, "2f268622ad80: retry 1: connection lost\n")
	if retry < 0 || !strings.HasSuffix(out[:retry], "\x1b[1A\x1b[J") {
		t.Fatalf("the retry is not printed above the bar, in place of it: %q", out)
	}
	frames := strings.Split(out, "\x1b[1A\x1b[J")
	last := frames[len(frames)-1]
	if want := "2f268622ad80 done        [" + strings.Repeat("=", barWidth) + "] 4.0 / 4.0 MB\n"; last != want {
		t.Fatalf("last frame %q, want %q", last, want)
	}
	if !strings.Contains(out, "2f268622ad80 unpacking   [") {
		t.Fatalf("no frame shows the layer unpacking: %q", out)
	}
}
