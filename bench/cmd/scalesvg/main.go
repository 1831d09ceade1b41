// Command scalesvg draws the start-time curves of bench/run-scale.sh: the
// wall time of each detached start against the number of containers
// already running, one line per engine, as an SVG.
//
//	scalesvg -o docs/scale.svg -title TEXT out/bench/scale.csv
//
// The CSV has the lines ENGINE,N,MS (N counted from 1). Each curve is a
// running median over 9 starts, so one slow start does not hide the trend.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"html"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

type point struct{ n, ms float64 }

func main() {
	out := flag.String("o", "scale.svg", "the SVG to write")
	title := flag.String("title", "Start time of one more detached container", "the chart's title")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: scalesvg [-o FILE] [-title TEXT] SCALE.csv")
		os.Exit(2)
	}
	curves, order, err := read(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "scalesvg:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, []byte(draw(*title, curves, order)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "scalesvg:", err)
		os.Exit(1)
	}
}

func read(path string) (map[string][]point, []string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	curves := map[string][]point{}
	var order []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(strings.TrimSpace(sc.Text()), ",")
		if len(fields) != 3 {
			return nil, nil, fmt.Errorf("%s:%d: want ENGINE,N,MS", path, line)
		}
		n, err1 := strconv.ParseFloat(fields[1], 64)
		ms, err2 := strconv.ParseFloat(fields[2], 64)
		if err1 != nil || err2 != nil {
			return nil, nil, fmt.Errorf("%s:%d: want ENGINE,N,MS", path, line)
		}
		if _, ok := curves[fields[0]]; !ok {
			order = append(order, fields[0])
		}
		curves[fields[0]] = append(curves[fields[0]], point{n, ms})
	}
	if len(order) == 0 {
		return nil, nil, fmt.Errorf("%s: no points", path)
	}
	return curves, order, sc.Err()
}

// smooth is the running median over w points centred on each.
func smooth(ps []point, w int) []point {
	out := make([]point, len(ps))
	for i := range ps {
		lo, hi := max(0, i-w/2), min(len(ps), i+w/2+1)
		win := make([]float64, 0, hi-lo)
		for _, p := range ps[lo:hi] {
			win = append(win, p.ms)
		}
		slices.Sort(win)
		out[i] = point{ps[i].n, win[len(win)/2]}
	}
	return out
}

// nice rounds a maximum up to 1, 2 or 5 times a power of ten.
func nice(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func draw(title string, curves map[string][]point, order []string) string {
	const w, h, left, right, top, bottom = 720.0, 420.0, 64.0, 150.0, 40.0, 48.0
	maxN, maxMS := 1.0, 1.0
	for _, ps := range curves {
		for _, p := range smooth(ps, 9) {
			maxN, maxMS = max(maxN, p.n), max(maxMS, p.ms)
		}
	}
	maxN, maxMS = nice(maxN), nice(maxMS*1.1)
	x := func(n float64) float64 { return left + (w-left-right)*n/maxN }
	y := func(ms float64) float64 { return h - bottom - (h-top-bottom)*ms/maxMS }
	colors := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%g" y="22" font-size="14">%s</text>`+"\n", left, html.EscapeString(title))
	for i := 0; i <= 5; i++ {
		ms := maxMS * float64(i) / 5
		fmt.Fprintf(&b, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`+"\n", left, y(ms), w-right, y(ms))
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" text-anchor="end">%g</text>`+"\n", left-6, y(ms)+4, ms)
		n := maxN * float64(i) / 5
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="middle">%g</text>`+"\n", x(n), h-bottom+18, n)
	}
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="black"/>`+"\n", left, h-bottom, w-right, h-bottom)
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="black"/>`+"\n", left, top, left, h-bottom)
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">containers running before the start</text>`+"\n", (left+w-right)/2, h-10)
	fmt.Fprintf(&b, `<text x="16" y="%g" text-anchor="middle" transform="rotate(-90 16 %g)">start time, ms (running median of 9)</text>`+"\n", (top+h-bottom)/2, (top+h-bottom)/2)
	for i, name := range order {
		c := colors[i%len(colors)]
		var pts []string
		for _, p := range smooth(curves[name], 9) {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.n-1), y(p.ms)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", c, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<line x1="%g" y1="%d" x2="%g" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", w-right+12, 60+20*i, w-right+36, 60+20*i, c)
		fmt.Fprintf(&b, `<text x="%g" y="%d">%s</text>`+"\n", w-right+42, 64+20*i, html.EscapeString(name))
	}
	b.WriteString("</svg>\n")
	return b.String()
}
