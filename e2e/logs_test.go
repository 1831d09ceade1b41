package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLogsFollowAcrossRotationEndsWhenTheContainerStops(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "count", "--log-opt", "max-size=4k,max-file=2", "busybox", "sh", "-c",
		"sleep 1; i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); sleep 0.01; done; echo the-end")
	f := e.start("logs", "-f", "count")
	code, out := f.wait(t) // returns only because the container stopped
	if code != 0 || !strings.HasSuffix(out, "the-end\n") {
		t.Fatalf("logs -f: exit %d, output ends %q", code, out[max(0, len(out)-80):])
	}
	last := -1
	for _, l := range strings.Split(strings.TrimSuffix(out, "the-end\n"), "\n") {
		if l == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(l, "line "))
		if err != nil || n <= last {
			t.Fatalf("logs -f across rotations: line %q after line %d: want increasing, whole lines", l, last)
		}
		last = n
	}
	if last != 299 {
		t.Fatalf("logs -f: last numbered line %d, want 299", last)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if out := e.must("logs", "--since", future, "count"); out != "" {
		t.Errorf("logs --since an hour ahead: %q, want nothing", out)
	}
	if out := e.must("logs", "--since", "1h", "count"); !strings.HasSuffix(out, "line 299\nthe-end\n") {
		t.Errorf("logs --since 1h: ends %q", out[max(0, len(out)-40):])
	}
	if r := e.run("logs", "--tail", "x", "count"); r.code != 1 || !strings.Contains(r.stderr, "--tail") {
		t.Errorf("logs --tail x: %s", r)
	}
	e.must("rm", "count")
}

func TestDetachedInteractiveShellStaysUpAndTTYOutputIsLogged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	// -i: stdin stays open, so a shell reading it waits instead of exiting.
	e.runD("--name", "sh", "-i", "busybox", "sh")
	time.Sleep(500 * time.Millisecond)
	if r := e.inspectLife("sh"); r.State != "running" {
		t.Fatalf("run -d -i busybox sh: %+v, want it still running", r)
	}
	// -t: the container's terminal output is logged as stdout.
	e.runD("--name", "tty", "-t", "busybox", "sh", "-c", "tty; echo on-the-tty >&2")
	e.waitFor("tty", "exited", isExited)
	if out := e.must("logs", "tty"); !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "on-the-tty") {
		b, _ := os.ReadFile(filepath.Join(e.root, "containers", e.inspectLife("tty").ID, "container.log"))
		t.Fatalf("logs of a -t container: %q, want its terminal output; log file %q; record %+v", out, b, e.inspectLife("tty"))
	}
	e.must("rm", "-f", "sh", "tty")
}
