package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/image"
)

// pullProgress renders pull events: bars per layer on a terminal, plain
// lines otherwise, JSON lines with --format json, nothing with -q.
type pullProgress struct {
	mu   sync.Mutex
	w    io.Writer
	mode string // "bars", "lines", "json", "quiet"
	bars *bars  // bars mode, from the first event on
	last map[string]time.Time
	tick map[string]int64 // lines mode: the last quarter reported
}

func newPullProgress(w io.Writer, format string, quiet bool) (*pullProgress, error) {
	p := &pullProgress{w: w, last: map[string]time.Time{}, tick: map[string]int64{}}
	switch {
	case format != "" && format != "json":
		return nil, fmt.Errorf("invalid --format %q: only json is supported", format)
	case format == "json":
		p.mode = "json"
	case quiet:
		p.mode = "quiet"
	case isTerminal(w):
		p.mode = "bars" // started at the first event: run may not pull at all
	default:
		p.mode = "lines"
	}
	return p, nil
}

// isTerminal: a terminal with a known width (a pty nobody sized has 0
// columns, and bars would not render: plain lines then).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	return err == nil && ws.Col > 0
}

func short(d digest.Digest) string { return shortDigest(d.Encoded()) }

func (p *pullProgress) event(e image.PullEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.mode {
	case "json":
		p.json(e)
	case "lines":
		p.line(e)
	case "bars":
		p.barEvent(e)
	}
}

func (p *pullProgress) json(e image.PullEvent) {
	if e.Kind == image.PullProgress && e.Current < e.Size {
		k := e.Digest.String()
		if time.Since(p.last[k]) < 500*time.Millisecond {
			return
		}
		p.last[k] = time.Now()
	}
	b, _ := json.Marshal(e)
	fmt.Fprintf(p.w, "%s\n", b)
}

func (p *pullProgress) line(e image.PullEvent) {
	switch e.Kind {
	case image.PullResolved:
		fmt.Fprintf(p.w, "Pulling %s (%s, %s of layers)\n", familiarName(e.Ref), short(e.Digest), mb(e.Size))
	case image.PullLayer:
		if e.Current > 0 {
			fmt.Fprintf(p.w, "%s: resuming at %s of %s\n", short(e.Digest), mb(e.Current), mb(e.Size))
		}
	case image.PullProgress: // a line at each quarter of a layer
		if q := 4 * e.Current / max(e.Size, 1); q > p.tick[e.Digest.String()] && q < 4 {
			p.tick[e.Digest.String()] = q
			fmt.Fprintf(p.w, "%s: %s of %s\n", short(e.Digest), mb(e.Current), mb(e.Size))
		}
	case image.PullRetry:
		fmt.Fprintf(p.w, "%sretry %d: %s\n", prefix(e.Digest), e.Attempt, e.Error)
	case image.PullDownloaded:
		fmt.Fprintf(p.w, "%s: downloaded %s\n", short(e.Digest), mb(e.Size))
	case image.PullUnpacked:
		fmt.Fprintf(p.w, "%s: unpacked\n", short(e.Digest))
	}
}

func (p *pullProgress) barEvent(e image.PullEvent) {
	if p.bars == nil && e.Kind != image.PullResolved {
		return
	}
	switch e.Kind {
	case image.PullResolved:
		p.bars = &bars{w: p.w}
		p.bars.print(fmt.Sprintf("Pulling %s (%s)", familiarName(e.Ref), short(e.Digest)))
	case image.PullDone:
		p.stopBars()
	case image.PullLayer:
		p.bars.set(short(e.Digest), "downloading", e.Current, e.Size)
	case image.PullProgress:
		if e.Current < e.Size {
			p.bars.set(short(e.Digest), "", e.Current, e.Size)
		}
	case image.PullRetry:
		p.bars.print(fmt.Sprintf("%sretry %d: %s", prefix(e.Digest), e.Attempt, e.Error))
	case image.PullDownloaded:
		p.bars.set(short(e.Digest), "unpacking", -1, e.Size)
	case image.PullUnpacked: // a bar completes once its layer is unpacked
		p.bars.set(short(e.Digest), "done", e.Size, e.Size)
	}
}

// finish stops the display.
func (p *pullProgress) finish(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == "json" && err != nil {
		b, _ := json.Marshal(image.PullEvent{Kind: "error", Error: err.Error()})
		fmt.Fprintf(p.w, "%s\n", b)
	}
	p.stopBars()
}

func (p *pullProgress) stopBars() {
	if p.bars != nil {
		p.bars.draw()
		p.bars = nil
	}
}

// prefix labels a line with a short digest, if there is one.
func prefix(d digest.Digest) string {
	if d == "" {
		return ""
	}
	return short(d) + ": "
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// runPullEvents sets run's pull progress to stderr (none with -q).
func runPullEvents(g *globalOptions, opts *container.RunOptions, quiet bool) *pullProgress {
	pr, _ := newPullProgress(g.Stderr, "", quiet)
	opts.PullWith.Events = pr.event
	return pr
}
