package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// bars draws one line per layer at the bottom of a terminal and redraws
// them in place (cursor up, clear line), at most every barsRefresh; a
// message is printed above them. It is what pull shows on a terminal.
type bars struct {
	w      io.Writer
	layers []*barLayer
	drawn  int // lines of bars on the screen now
	at     time.Time
}

type barLayer struct {
	name, what    string
	current, size int64
}

const (
	barsRefresh = 150 * time.Millisecond
	barWidth    = 32
)

// set updates a layer (added at its first event); what "" keeps the
// state, current < 0 keeps the count.
func (b *bars) set(name, what string, current, size int64) {
	var l *barLayer
	for _, x := range b.layers {
		if x.name == name {
			l = x
		}
	}
	if l == nil {
		l = &barLayer{name: name}
		b.layers = append(b.layers, l)
	}
	if what != "" {
		l.what = what
	}
	if current >= 0 {
		l.current = current
	}
	l.size = size
	if what != "" || time.Since(b.at) >= barsRefresh {
		b.draw()
	}
}

// print writes a line above the bars.
func (b *bars) print(line string) {
	var sb strings.Builder
	b.clear(&sb)
	sb.WriteString(line + "\n")
	b.render(&sb)
	_, _ = io.WriteString(b.w, sb.String()) // a progress display: a failed write is not worth failing the pull
}

func (b *bars) draw() {
	var sb strings.Builder
	b.clear(&sb)
	b.render(&sb)
	_, _ = io.WriteString(b.w, sb.String()) // a progress display: a failed write is not worth failing the pull
}

// clear moves the cursor to the first line of the bars, clearing them.
func (b *bars) clear(sb *strings.Builder) {
	if b.drawn > 0 {
		fmt.Fprintf(sb, "\x1b[%dA", b.drawn)
	}
	sb.WriteString("\x1b[J")
	b.drawn = 0
}

func (b *bars) render(sb *strings.Builder) {
	for _, l := range b.layers {
		sb.WriteString(barLine(l) + "\n")
	}
	b.drawn, b.at = len(b.layers), time.Now()
}

// barLine is "2f268622ad80 downloading [=========>      ] 1.5 / 4.0 MB".
func barLine(l *barLayer) string {
	fill := 0
	if l.size > 0 {
		fill = int(min(l.current, l.size) * barWidth / l.size)
	}
	bar := strings.Repeat("=", fill)
	if fill < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-fill-1)
	}
	return fmt.Sprintf("%s %-11s [%s] %.1f / %.1f MB", l.name, l.what, bar, float64(l.current)/1e6, float64(l.size)/1e6)
}
