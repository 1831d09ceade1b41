package relay

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/logfile"
)

// relayScript writes to both streams: ended lines, a line written in two
// parts, lines longer than logfile.LineMax, empty lines and a last line without
// its newline; it exits 3.
// TestMain answers the C monitor executing the Go one back (this test
// binary stands in for edgerun): it prints the arguments it got.
func TestMain(m *testing.M) {
	// TestMonitorAndProbeNameThemselves: what ps and top show.
	if len(os.Args) > 1 && os.Getenv("RELAY_TEST_NAMES") == "1" {
		comm, _ := os.ReadFile("/proc/self/comm")
		fmt.Printf("%s|%s", strings.TrimSpace(string(comm)), os.Args[0])
		os.Exit(0)
	}
	// TestCMonitorRunsTheOOMRecorder: the C monitor's recorder of OOM kills.
	if len(os.Args) == 5 && os.Args[1] == "__oom" {
		f, err := os.OpenFile(os.Getenv("RELAY_TEST_OOM_LOG"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err == nil {
			fmt.Fprintln(f, strings.Join(os.Args, " "))
			f.Close()
		}
		os.Exit(0)
	}
	if len(os.Args) > 6 && os.Args[1] == "__monitor" && os.Args[5] == "resume" {
		fmt.Println(strings.Join(os.Args[1:], " "))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const relayScript = `printf 'first\n'; printf 'partial-'; sleep 0.2; printf 'line\n\n'
printf 'to stderr\n' >&2
head -c 40000 /dev/zero | tr '\0' a; printf '\n'
head -c 20000 /dev/zero | tr '\0' b >&2; printf '\nerr end\n' >&2
printf 'no newline at end'; exit 3`

func relayExpected() map[string][]string {
	return map[string][]string{
		"stdout": {"first", "partial-line", "", strings.Repeat("a", 40000), "no newline at end"},
		"stderr": {"to stderr", strings.Repeat("b", 20000), "err end"},
	}
}

// runCRelay runs script as the container of the C monitor (the test binary
// re-executed by sh, whose child the script is, as shed re-executes the Go
// monitor) and returns the arguments it executed the Go monitor with.
func runCRelay(t *testing.T, script, log string, maxSize int64, maxFile int) string {
	t.Helper()
	return runCRelayWith(t, script, log, maxSize, maxFile, "", nil)
}

// runCRelayWith is runCRelay with more arguments for the C monitor (its
// descriptors from 8 on are extra's); started, if not nil, gets the
// monitor's PID once it runs.
func runCRelayWith(t *testing.T, script, log string, maxSize int64, maxFile int, more string, started func(pid int), extra ...*os.File) string {
	t.Helper()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	owner, err := os.Create(filepath.Join(t.TempDir(), "owner"))
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sh := `( ` + script + ` ) >&6 2>&7 & exec 6>&- 7>&-
exec "$0" __monitor root state id relay $! 0 0 log="$1" max-size="$2" max-file="$3" ` + more + ` owner=3 stdout=4 stderr=5`
	cmd := exec.Command("/bin/sh", "-c", sh, exe, log, strconv.FormatInt(maxSize, 10), strconv.Itoa(maxFile))
	cmd.ExtraFiles = append([]*os.File{owner, outR, errR, outW, errW}, extra...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	err = cmd.Start()
	for _, f := range cmd.ExtraFiles[:5] {
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if started != nil {
		go started(cmd.Process.Pid) // sh executes the monitor in its own process
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the C monitor or the Go monitor it executed failed: %v (output %q)", err, stdout.String())
	}
	return strings.TrimSpace(stdout.String())
}

// runGoWriter runs script with its output logged by logfile.Writer.CopyStream,
// as the Go monitor does.
func runGoWriter(t *testing.T, script, log string, maxSize int64, maxFile int) {
	t.Helper()
	w, err := logfile.Open(log, maxSize, maxFile)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd := exec.Command("/bin/sh", "-c", script)
	outR, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for name, r := range map[string]*os.File{"stdout": outR.(*os.File), "stderr": errR.(*os.File)} {
		wg.Add(1)
		go func() { defer wg.Done(); w.CopyStream(name, r) }()
	}
	wg.Wait()
	_ = cmd.Wait()
}

// parseLog reads log files (oldest first) into each stream's lines, the P
// parts joined to their line, checking every line's format on the way.
func parseLog(t *testing.T, files ...string) map[string][]string {
	t.Helper()
	lines := map[string][]string{}
	pending := map[string]string{}
	var last time.Time
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			l, ok := logfile.ParseLine(sc.Bytes())
			if !ok {
				t.Fatalf("%s: line %.80q is not TIMESTAMP STREAM F|P CONTENT", file, sc.Text())
			}
			ts, err := time.Parse(logfile.TimeFormat, string(l.Time))
			if err != nil || len(l.Time) != len("2006-01-02T15:04:05.000000000Z") || ts.Before(last) {
				t.Fatalf("%s: timestamp %q: want RFC 3339 UTC with 9 digits of nanoseconds, not before %v (%v)", file, l.Time, last, err)
			}
			last = ts
			s := string(l.Stream)
			if s != "stdout" && s != "stderr" {
				t.Fatalf("%s: stream %q", file, s)
			}
			if l.Partial {
				if len(l.Content) != logfile.LineMax {
					t.Fatalf("%s: a P part of %d bytes, want %d", file, len(l.Content), logfile.LineMax)
				}
				pending[s] += string(l.Content)
				continue
			}
			lines[s] = append(lines[s], pending[s]+string(l.Content))
			pending[s] = ""
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return lines
}

func TestCMonitorWritesTheLogFormatOfTheGoWriter(t *testing.T) {
	dir := t.TempDir()
	cLog, goLog := filepath.Join(dir, "c.log"), filepath.Join(dir, "go.log")
	args := runCRelay(t, relayScript, cLog, logfile.DefaultMaxSize, logfile.DefaultMaxFile)
	runGoWriter(t, relayScript, goLog, logfile.DefaultMaxSize, logfile.DefaultMaxFile)
	// The Go monitor gets the exit and the owner lock, and nothing else.
	fields := strings.Fields(args)
	if len(fields) != 10 || fields[4] != "resume" || fields[8] != "exit=3" || fields[9] != "owner=3" {
		t.Fatalf("the C monitor executed the Go one with %q, want __monitor root state id resume PID 0 0 exit=3 owner=3", args)
	}
	got, fromGo := parseLog(t, cLog), parseLog(t, goLog)
	want := relayExpected()
	for _, s := range []string{"stdout", "stderr"} {
		if !slices.Equal(got[s], want[s]) {
			t.Errorf("C monitor, %s: %d lines %.200q, want %.200q", s, len(got[s]), got[s], want[s])
		}
		if !slices.Equal(got[s], fromGo[s]) {
			t.Errorf("%s: the C monitor logged %.200q, the Go writer %.200q", s, got[s], fromGo[s])
		}
	}
}

func TestCMonitorRotatesAsTheGoWriter(t *testing.T) {
	const maxSize, maxFile, n = 100_000, 3, 20000
	// Only stdout: the two streams are read independently, so a line on
	// stderr has no fixed place among stdout's and may rotate out.
	script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do echo "line $i"; i=$((i+1)); done`, n)
	for _, writer := range []string{"C monitor", "Go writer"} {
		dir := t.TempDir()
		log := filepath.Join(dir, "container.log")
		if writer == "C monitor" {
			runCRelay(t, script, log, maxSize, maxFile)
		} else {
			runGoWriter(t, script, log, maxSize, maxFile)
		}
		names, _ := filepath.Glob(log + "*")
		slices.Sort(names)
		if want := []string{log, log + ".1", log + ".2"}; !slices.Equal(names, want) {
			t.Fatalf("%s: log files %q, want %q", writer, names, want)
		}
		for _, name := range names {
			if fi, err := os.Stat(name); err != nil || fi.Size() > maxSize || fi.Size() == 0 {
				t.Fatalf("%s: %s: %v, want 1 to %d bytes", writer, name, fi, maxSize)
			}
		}
		lines := parseLog(t, log+".2", log+".1", log)
		out := lines["stdout"]
		if len(out) == 0 || out[len(out)-1] != "line "+strconv.Itoa(n-1) || len(lines["stderr"]) != 0 {
			t.Fatalf("%s: the newest lines are missing: stdout ends %q, stderr %q", writer, out[max(0, len(out)-2):], lines["stderr"])
		}
		first, _ := strconv.Atoi(strings.TrimPrefix(out[0], "line "))
		for i, l := range out {
			if l != "line "+strconv.Itoa(first+i) {
				t.Fatalf("%s: line %d after rotation is %q, want line %d: lines lost or reordered", writer, i, l, first+i)
			}
		}
	}
}

// TestMonitorAndProbeNameThemselves: a monitor and a probe, executed
// through /proc/self/exe as edgerun executes them, show as edgerun-mon and
// edgerun-probe in the kernel's comm (top, pgrep, ps -o comm), whatever
// argv[0] their executor chose; any other process keeps its comm.
func TestMonitorAndProbeNameThemselves(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exeComm := filepath.Base(self)
	if len(exeComm) > 15 {
		exeComm = exeComm[:15]
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"edgerun-mon web", "__monitor", "root", "state", "id"}, "edgerun-mon|edgerun-mon web"},
		{[]string{"edgerun-mon web", "__monitor", "root", "state", "id", "resume", "1", "0", "0", "exit=0"}, "edgerun-mon|edgerun-mon web"},
		{[]string{"edgerun-probe", "__health", "root", "state", "id"}, "edgerun-probe|edgerun-probe"},
		{[]string{"edgerun-oom", "__oom", "root", "state", "id"}, "edgerun-oom|edgerun-oom"},
		{[]string{"edgerun", "ps"}, exeComm + "|edgerun"},
	}
	for _, tt := range tests {
		cmd := exec.Command(self)
		cmd.Args = tt.args
		cmd.Env = append(os.Environ(), "RELAY_TEST_NAMES=1")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if string(out) != tt.want {
			t.Errorf("%q shows as comm|argv[0] %q, want %q", tt.args, out, tt.want)
		}
	}
}

// The C monitor runs the OOM recorder ("edgerun-oom __oom ROOT STATE ID")
// at the kernel's notice: any v1 eventfd notice, and a v2 change of
// memory.events only when its oom_kill counter moved (the files here
// stand for the cgroup's; the test binary stands for the recorder).
func TestCMonitorRunsTheOOMRecorder(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "v1 eventfd", true: "v2 memory.events"}[v2], func(t *testing.T) {
			dir := t.TempDir()
			recorded := filepath.Join(dir, "recorded")
			t.Setenv("RELAY_TEST_OOM_LOG", recorded)
			events := filepath.Join(dir, "memory.events")
			write := func(s string) {
				if err := os.WriteFile(events, []byte(s), 0o600); err != nil {
					t.Error(err)
				}
			}
			write("low 0\nhigh 0\nmax 0\noom 0\noom_kill 2\n")
			var note *os.File
			var extra []*os.File
			more := "oom=8"
			var poke []func()
			if v2 {
				fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := unix.InotifyAddWatch(fd, events, unix.IN_MODIFY); err != nil {
					t.Fatal(err)
				}
				note = os.NewFile(uintptr(fd), "inotify")
				ev, err := os.Open(events)
				if err != nil {
					t.Fatal(err)
				}
				defer ev.Close()
				extra, more = []*os.File{note, ev}, "oom=8,9"
				poke = []func(){
					func() { write("low 0\nhigh 0\nmax 9\noom 0\noom_kill 2\n") }, // another counter: nothing to record
					func() { write("low 0\nhigh 0\nmax 9\noom 1\noom_kill 3\n") }, // a kill
				}
			} else {
				fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
				if err != nil {
					t.Fatal(err)
				}
				note = os.NewFile(uintptr(fd), "eventfd")
				extra = []*os.File{note}
				poke = []func(){func() {
					if _, err := note.Write([]byte{1, 0, 0, 0, 0, 0, 0, 0}); err != nil {
						t.Error(err)
					}
				}}
			}
			defer note.Close()
			// The notice is given blocking, as Go's Fd leaves it: the C
			// monitor has taken it over once it made it non-blocking.
			started := func(pid int) {
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
					if nonblocking(pid, 8) {
						break
					}
				}
				for _, p := range poke {
					time.Sleep(300 * time.Millisecond)
					p()
				}
			}
			args := runCRelayWith(t, "sleep 2", filepath.Join(dir, "log"), logfile.DefaultMaxSize, logfile.DefaultMaxFile, more, started, extra...)
			if strings.Contains(args, "oom=") {
				t.Errorf("the Go monitor got the OOM watch back: %s", args)
			}
			got, _ := os.ReadFile(recorded)
			if want := "edgerun-oom __oom root state id\n"; string(got) != want {
				t.Errorf("recorders run: %q, want one: %q", got, want)
			}
		})
	}
}

// nonblocking says whether process pid's descriptor fd is O_NONBLOCK.
func nonblocking(pid, fd int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "flags:"); ok {
			flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && flags&unix.O_NONBLOCK != 0
		}
	}
	return false
}
