package logfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLogWriterRotatesWithinCapAndReaderReassemblesLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "container.log")
	w, err := Open(path, 8<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { w.CopyStream("stdout", pr); close(done) }()
	long := strings.Repeat("x", LineMax+10) // cut into a P and an F part
	var want bytes.Buffer
	for i := range 2000 {
		line := strings.Repeat("y", i%50) + "\n"
		if i == 1990 {
			line = long + "\n"
		}
		want.WriteString(line)
		if _, err := pw.WriteString(line); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pw.WriteString("no newline at the end"); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	<-done
	w.Close()
	var total int64
	for _, p := range []string{path, path + ".1", path + ".2", path + ".3"} {
		if fi, err := os.Stat(p); err == nil {
			total += fi.Size()
		} else if p != path+".3" {
			t.Fatalf("rotated file %s missing: %v", p, err)
		}
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Fatalf("max-file=3 kept a fourth file")
	}
	if total > 3*8<<10+LineMax+200 {
		t.Fatalf("logs take %d bytes, cap is 3 × 8 KiB (plus one long line)", total)
	}
	var out, errOut bytes.Buffer
	p := &logPrinter{opts: PrintOptions{Tail: 12, Stdout: &out, Stderr: &errOut}, collect: true}
	for _, f := range []string{path + ".2", path + ".1", path} {
		if err := p.readFile(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.flushTail(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(want.String(), "\n")
	wantTail := strings.Join(lines[len(lines)-12:len(lines)-1], "\n") + "\nno newline at the end\n"
	if out.String() != wantTail {
		t.Fatalf("tail 12:\n%q\nwant\n%q", out.String(), wantTail)
	}
}

func TestParseLogLine(t *testing.T) {
	for _, c := range []struct {
		in   string
		ok   bool
		want Line
	}{
		{"2026-11-30T16:20:07.1Z stdout F hello world", true, Line{Time: []byte("2026-11-30T16:20:07.1Z"), Stream: []byte("stdout"), Content: []byte("hello world")}},
		{"2026-11-30T16:20:07.1Z stderr P ", true, Line{Time: []byte("2026-11-30T16:20:07.1Z"), Stream: []byte("stderr"), Partial: true, Content: []byte{}}},
		{"torn", false, Line{}},
		{"2026 stdout X x", false, Line{}},
	} {
		got, ok := ParseLine([]byte(c.in))
		if ok != c.ok || (ok && (string(got.Time) != string(c.want.Time) || string(got.Stream) != string(c.want.Stream) ||
			got.Partial != c.want.Partial || string(got.Content) != string(c.want.Content))) {
			t.Errorf("ParseLine(%q) = %+v, %v", c.in, got, ok)
		}
	}
}

// --details prefixes each line with its attributes and a space, as docker
// does; edgerun's lines have no attributes, so only the space is added,
// after -t's time.
// TestPrintOptionsSelectAndPrefixLines: --details adds docker's space,
// --since and --until keep the lines of their window (ends included).
func TestPrintOptionsSelectAndPrefixLines(t *testing.T) {
	const log = "2026-11-30T16:20:07.000000001Z stdout F hello\n2026-11-30T16:20:08.000000002Z stderr F oops\n"
	tests := []struct {
		name             string
		opts             PrintOptions
		wantOut, wantErr string
	}{
		{"plain", PrintOptions{}, "hello\n", "oops\n"},
		{"details", PrintOptions{Details: true}, " hello\n", " oops\n"},
		{"details and timestamps", PrintOptions{Details: true, Timestamps: true},
			"2026-11-30T16:20:07.000000001Z  hello\n", "2026-11-30T16:20:08.000000002Z  oops\n"},
		{"until", PrintOptions{Until: time.Date(2026, 11, 30, 16, 20, 7, 500, time.UTC)}, "hello\n", ""},
		{"since", PrintOptions{Since: time.Date(2026, 11, 30, 16, 20, 8, 0, time.UTC)}, "", "oops\n"},
		{"since and until, ends included", PrintOptions{Since: time.Date(2026, 11, 30, 16, 20, 7, 1, time.UTC),
			Until: time.Date(2026, 11, 30, 16, 20, 8, 2, time.UTC)}, "hello\n", "oops\n"},
		{"until before everything", PrintOptions{Until: time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "container.log")
			if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errOut bytes.Buffer
			tt.opts.Tail, tt.opts.Stdout, tt.opts.Stderr = -1, &out, &errOut
			if err := Print(t.Context(), path, 1, tt.opts); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.wantOut || errOut.String() != tt.wantErr {
				t.Errorf("stdout %q, stderr %q; want %q and %q", out.String(), errOut.String(), tt.wantOut, tt.wantErr)
			}
		})
	}
}
