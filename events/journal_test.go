package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// appenderEnv makes the test binary an appender process (TestMain): it
// appends COUNT events as writer NAME to the journal under ROOT, with
// MAXSIZE, and exits.
const appenderEnv = "EDGERUN_EVENTS_TEST_APPENDER" // ROOT:NAME:COUNT:MAXSIZE

func TestMain(m *testing.M) {
	if v := os.Getenv(appenderEnv); v != "" {
		p := strings.Split(v, ":")
		count, _ := strconv.Atoi(p[2])
		size, _ := strconv.ParseInt(p[3], 10, 64)
		appendSeq(Open(p[0], Options{MaxSize: size, Warn: func(err error) { panic(err) }}), p[1], count)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// appendSeq appends count events of writer name, numbered from 0 in the
// attribute seq, with labels that make lines of a few hundred bytes.
func appendSeq(j *Journal, name string, count int) {
	for i := range count {
		j.Append(New(Container, "start", name, map[string]string{
			"name": name, "seq": strconv.Itoa(i), "image": "busybox:latest",
			"com.example.pad": strings.Repeat("x", 200),
		}))
	}
}

// readAll reads every event the journal holds (the previous file first).
func readAll(t *testing.T, j *Journal) []Message {
	t.Helper()
	var out []Message
	err := j.Read(context.Background(), Query{Since: time.Unix(0, 1), Until: time.Now()},
		func(m Message) error { out = append(out, m); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// seqs groups the seq attributes of events by writer (the actor ID).
func seqs(t *testing.T, ms []Message) map[string][]int {
	t.Helper()
	out := map[string][]int{}
	for _, m := range ms {
		n, err := strconv.Atoi(m.Actor.Attributes["seq"])
		if err != nil {
			t.Fatalf("event without its seq: %+v", m)
		}
		out[m.Actor.ID] = append(out[m.Actor.ID], n)
	}
	return out
}

// assertSuffixes checks that each writer's events are its last ones, in
// order, none missing between: rotation drops the oldest, nothing else.
func assertSuffixes(t *testing.T, got map[string][]int, writers []string, count int, whole bool) {
	t.Helper()
	for _, w := range writers {
		s := got[w]
		if len(s) == 0 && whole {
			t.Errorf("writer %s: no events", w)
			continue
		}
		if whole && len(s) != count {
			t.Errorf("writer %s: %d events, want %d", w, len(s), count)
		}
		for i, n := range s {
			if want := count - len(s) + i; n != want {
				t.Errorf("writer %s: event %d has seq %d, want %d (a gap or a reordering)", w, i, n, want)
				break
			}
		}
	}
}

// journalSize is the bytes of the journal's files.
func journalSize(t *testing.T, j *Journal) (cur, prev int64) {
	t.Helper()
	if st, err := os.Stat(j.current()); err == nil {
		cur = st.Size()
	}
	if st, err := os.Stat(j.previous()); err == nil {
		prev = st.Size()
	}
	return cur, prev
}

// assertLinesWhole checks that every line of the journal's files is one
// event: no two appends interleaved. An empty line is allowed: an append
// that found another's write in flight (the file's last byte not yet a
// newline) starts a line of its own, as after a torn line.
func assertLinesWhole(t *testing.T, j *Journal) {
	t.Helper()
	for _, p := range []string{j.previous(), j.current()} {
		b, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			if _, ok := parseLine(line); !ok && len(line) > 0 {
				t.Fatalf("%s line %d is not one event: %q", p, i+1, line)
			}
		}
	}
}

func TestConcurrentAppendsNeitherInterleaveNorVanish(t *testing.T) {
	const writers, count = 4, 300
	for _, tt := range []struct {
		name    string
		maxSize int64
		procs   bool
	}{
		{"goroutines", DefaultMaxSize * 8, false},
		{"processes", DefaultMaxSize * 8, true},
		{"goroutines rotating", 16 << 10, false},
		{"processes rotating", 16 << 10, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.procs {
				skipWithoutReexec(t)
			}
			root := t.TempDir()
			j := Open(root, Options{MaxSize: tt.maxSize, Warn: func(err error) { t.Error(err) }})
			var names []string
			var wg sync.WaitGroup
			for w := range writers {
				name := fmt.Sprintf("w%d", w)
				names = append(names, name)
				wg.Add(1)
				go func() {
					defer wg.Done()
					if !tt.procs {
						appendSeq(j, name, count)
						return
					}
					cmd := exec.Command(os.Args[0], "-test.run=^$")
					cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%s:%d:%d", appenderEnv, root, name, count, tt.maxSize))
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Errorf("appender %s: %v\n%s", name, err, out)
					}
				}()
			}
			wg.Wait()
			assertLinesWhole(t, j)
			got := readAll(t, j)
			rotating := tt.maxSize < DefaultMaxSize
			if len(got) == 0 {
				t.Fatal("no events read")
			}
			assertSuffixes(t, seqs(t, got), names, count, !rotating)
			if cur, prev := journalSize(t, j); rotating && (cur >= tt.maxSize || prev > tt.maxSize+MaxLine) {
				t.Errorf("journal files of %d and %d bytes: over the bound of %d", cur, prev, tt.maxSize)
			}
		})
	}
}

func TestRotationKeepsTheNewestWithinTheBound(t *testing.T) {
	const maxSize, count = 8 << 10, 1000
	j := Open(t.TempDir(), Options{MaxSize: maxSize})
	appendSeq(j, "w", count)
	cur, prev := journalSize(t, j)
	if cur >= maxSize || prev < maxSize || prev > maxSize+MaxLine {
		t.Errorf("files of %d and %d bytes, want the current one under %d and the previous one just past it", cur, prev, maxSize)
	}
	got := seqs(t, readAll(t, j))["w"]
	// Each line is about 350 bytes: the two files hold 24 to 48 of them.
	if len(got) < 20 || len(got) > 2*maxSize/300 {
		t.Errorf("%d events kept in %d bytes", len(got), cur+prev)
	}
	assertSuffixes(t, map[string][]int{"w": got}, []string{"w"}, count, false)
}

func TestTornLineIsSkippedAndAppendsGoOn(t *testing.T) {
	for _, tail := range []string{
		`{"status":"start","id":"x","Type":"cont`, // cut in the middle
		"\x00\x00\x00\x00\x00\x00\x00\x00",        // not written before the power cut
		`{"status":"start"}` + "\x00\x00",         // a line without a type
		strings.Repeat("y", MaxLine+10),           // garbage longer than a line
	} {
		j := Open(t.TempDir(), Options{})
		appendSeq(j, "before", 2)
		f, err := os.OpenFile(j.current(), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(tail); err != nil {
			t.Fatal(err)
		}
		f.Close()
		appendSeq(j, "after", 2)
		got := seqs(t, readAll(t, j))
		if fmt.Sprint(got) != "map[after:[0 1] before:[0 1]]" {
			t.Errorf("after a torn tail %.20q: read %v, want both events before and after", tail, got)
		}
	}
}

func TestAppendNeverFailsTheCaller(t *testing.T) {
	root := t.TempDir()
	// The events directory cannot be made: a file has its name.
	if err := os.WriteFile(filepath.Join(root, dirName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var warnings []error
	j := Open(root, Options{Warn: func(err error) { warnings = append(warnings, err) }})
	j.Append(New(Container, "start", "a", nil))
	j.Append(New(Container, "die", "a", nil))
	if len(warnings) != 1 || !strings.Contains(warnings[0].Error(), "event journal") {
		t.Errorf("warnings %v, want one naming the event journal", warnings)
	}
	var nilJournal *Journal
	nilJournal.Append(New(Container, "start", "a", nil)) // records nothing, does not panic
}

func TestEncodeBoundsALine(t *testing.T) {
	m := New(Container, "start", "id", map[string]string{"name": "web", "big": strings.Repeat("z", 3*MaxLine)})
	b, err := encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxLine {
		t.Errorf("line of %d bytes, over %d", len(b), MaxLine)
	}
	got, ok := parseLine(b)
	if !ok || got.Actor.Attributes["name"] != "web" || got.Action != "start" {
		t.Errorf("cut event %+v (%v), want the name and action kept", got, ok)
	}
	many := map[string]string{"name": "web"}
	for i := range 200 {
		many[fmt.Sprintf("label%d", i)] = strings.Repeat("v", 200)
	}
	if b, err := encode(New(Container, "start", "id", many)); err != nil || len(b) > MaxLine {
		t.Errorf("an event with 200 labels: %d bytes (%v), want at most %d", len(b), err, MaxLine)
	}
}

// BenchmarkAppend is the cost every state change pays for its event.
func BenchmarkAppend(b *testing.B) {
	j := Open(b.TempDir(), Options{})
	m := New(Container, "start", strings.Repeat("0123456789abcdef", 4), map[string]string{
		"name": "web", "image": "busybox:latest", "com.example.service": "web"})
	b.ReportAllocs()
	for b.Loop() {
		j.Append(m)
	}
}

// skipWithoutReexec skips where this test binary cannot execute itself:
// under qemu-user (cross-test) the kernel cannot run the foreign binary
// without a binfmt_misc handler, which we do not register; the host and
// the arm64 VM run the process variants.
func skipWithoutReexec(t *testing.T) {
	t.Helper()
	err := exec.Command(os.Args[0], "-test.run=^$").Run()
	if errors.Is(err, syscall.ENOEXEC) {
		t.Skip("cannot re-execute this test binary here (qemu-user without binfmt_misc)")
	}
}
