package runtime

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseRestartPolicy(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    RestartPolicy
		wantErr string
	}{
		{"", RestartPolicy{Name: "no"}, ""},
		{"no", RestartPolicy{Name: "no"}, ""},
		{"always", RestartPolicy{Name: "always"}, ""},
		{"unless-stopped", RestartPolicy{Name: "unless-stopped"}, ""},
		{"on-failure", RestartPolicy{Name: "on-failure"}, ""},
		{"on-failure:3", RestartPolicy{Name: "on-failure", Max: 3}, ""},
		{"on-failure:-1", RestartPolicy{}, "number >= 0"},
		{"on-failure:x", RestartPolicy{}, "number >= 0"},
		{"always:2", RestartPolicy{}, "only on-failure"},
		{"sometimes", RestartPolicy{}, "use no, on-failure"},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseRestartPolicy(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want one with %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestShouldRestart(t *testing.T) {
	for _, c := range []struct {
		policy        string
		code, done    int
		stoppedByUser bool
		want          bool
	}{
		{"no", 1, 0, false, false},
		{"always", 0, 100, false, true},
		{"always", 1, 0, true, false},
		{"unless-stopped", 0, 0, false, true},
		{"on-failure", 0, 0, false, false},
		{"on-failure", 2, 50, false, true},
		{"on-failure:3", 1, 2, false, true},
		{"on-failure:3", 1, 3, false, false},
		{"on-failure:3", 137, 0, true, false},
	} {
		p, err := ParseRestartPolicy(c.policy)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.shouldRestart(c.code, c.done, c.stoppedByUser); got != c.want {
			t.Errorf("%s, exit %d after %d restarts, stopped by user %v: restart %v, want %v", c.policy, c.code, c.done, c.stoppedByUser, got, c.want)
		}
	}
}

func TestNextBackoffDoublesCapsAndResets(t *testing.T) {
	for _, c := range []struct {
		last, ran, want time.Duration
	}{
		{0, 0, 100 * time.Millisecond},
		{100 * time.Millisecond, time.Second, 200 * time.Millisecond},
		{40 * time.Second, time.Second, time.Minute},
		{time.Minute, time.Second, time.Minute},
		{time.Minute, 10 * time.Second, 100 * time.Millisecond},
	} {
		if got := nextBackoff(c.last, c.ran); got != c.want {
			t.Errorf("nextBackoff(%v, ran %v) = %v, want %v", c.last, c.ran, got, c.want)
		}
	}
}

func TestParseLogOpts(t *testing.T) {
	for _, c := range []struct {
		in        []string
		size      int64
		files     int
		wantError bool
	}{
		{nil, defaultLogMaxSize, defaultLogMaxFile, false},
		{[]string{"max-size=10m,max-file=3"}, 10 << 20, 3, false},
		{[]string{"max-size=64k", "max-file=1"}, 64 << 10, 1, false},
		{[]string{"max-size=1k"}, 0, 0, true},
		{[]string{"max-file=0"}, 0, 0, true},
		{[]string{"mode=non-blocking"}, 0, 0, true},
		{[]string{"max-size"}, 0, 0, true},
	} {
		size, files, err := parseLogOpts(c.in)
		if (err != nil) != c.wantError || (err == nil && (size != c.size || files != c.files)) {
			t.Errorf("parseLogOpts(%q) = %d, %d, %v; want %d, %d, error %v", c.in, size, files, err, c.size, c.files, c.wantError)
		}
	}
}

func TestLogWriterRotatesWithinCapAndReaderReassemblesLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, logFile)
	w, err := openLog(path, 8<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { w.copyStream("stdout", pr); close(done) }()
	long := strings.Repeat("x", logLineMax+10) // cut into a P and an F part
	var want bytes.Buffer
	for i := range 2000 {
		line := strings.Repeat("y", i%50) + "\n"
		if i == 1990 {
			line = long + "\n"
		}
		want.WriteString(line)
		pw.WriteString(line)
	}
	pw.WriteString("no newline at the end")
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
	if total > 3*8<<10+logLineMax+200 {
		t.Fatalf("logs take %d bytes, cap is 3 × 8 KiB (plus one long line)", total)
	}
	var out, errOut bytes.Buffer
	p := &logPrinter{opts: LogsOptions{Tail: 12, Stdout: &out, Stderr: &errOut}, collect: true}
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
		want logLine
	}{
		{"2026-11-30T16:20:07.1Z stdout F hello world", true, logLine{ts: []byte("2026-11-30T16:20:07.1Z"), stream: []byte("stdout"), content: []byte("hello world")}},
		{"2026-11-30T16:20:07.1Z stderr P ", true, logLine{ts: []byte("2026-11-30T16:20:07.1Z"), stream: []byte("stderr"), partial: true, content: []byte{}}},
		{"torn", false, logLine{}},
		{"2026 stdout X x", false, logLine{}},
	} {
		got, ok := parseLogLine([]byte(c.in))
		if ok != c.ok || (ok && (string(got.ts) != string(c.want.ts) || string(got.stream) != string(c.want.stream) ||
			got.partial != c.want.partial || string(got.content) != string(c.want.content))) {
			t.Errorf("parseLogLine(%q) = %+v, %v", c.in, got, ok)
		}
	}
}
