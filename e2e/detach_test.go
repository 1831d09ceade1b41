package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/restart"
)

// A counter that prints to both streams and ignores SIGTERM (sh as PID 1).
const ticker = `i=0; while true; do echo out $i; echo err $i >&2; i=$((i+1)); sleep 0.1; done`

func TestDetachedContainerLifecycleRunLogsStopStartKillRm(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	id := e.runD("--name", "tick", "busybox", "sh", "-c", ticker)
	rec := e.inspectLife("tick")
	if rec.ID != id || rec.State != "running" || !rec.Detached || rec.MonitorPid == 0 {
		t.Fatalf("after run -d: %+v, want running, detached, with a monitor, ID %s", rec, id)
	}
	if ps := e.must("ps"); !strings.Contains(ps, id[:12]) || !strings.Contains(ps, "Up ") {
		t.Fatalf("ps does not list the running container:\n%s", ps)
	}
	e.waitLogs("tick", "out 3\n")
	r := e.run("logs", "tick")
	if !strings.Contains(r.stderr, "err 2\n") || strings.Contains(r.stdout, "err ") {
		t.Fatalf("logs: stderr lines must go to stderr and only there: %s", r)
	}
	if r := e.run("logs", "--tail", "2", "tick"); strings.Count(r.stdout+r.stderr, "\n") != 2 {
		t.Fatalf("logs --tail 2: got %s", r)
	}
	if r := e.run("logs", "-t", "--tail", "1", "tick"); !strings.HasPrefix(r.stdout+r.stderr, time.Now().UTC().Format("2006-")) {
		t.Fatalf("logs -t: want a timestamp first, got %s", r)
	}

	e.must("stop", "-t", "1", "tick") // sh ignores SIGTERM: SIGKILL after 1 s
	rec = e.inspectLife("tick")
	if rec.State != "exited" || rec.ExitCode != 137 || !rec.StoppedByUser || alive(rec.MonitorPid) {
		t.Fatalf("after stop: %+v, want exited 137, stopped by the user, no monitor", rec)
	}
	if pids := e.monitors(); len(pids) != 0 {
		t.Fatalf("monitor still running after stop: %v", pids)
	}
	before := e.must("logs", "tick")

	e.must("start", "tick")
	rec = e.inspectLife("tick")
	if rec.ID != id || rec.State != "running" || rec.StoppedByUser {
		t.Fatalf("after start: %+v, want the same container running", rec)
	}
	// The log goes on: old lines kept, new ones appended.
	after := e.waitLogs("tick", before+"out 0\n")
	if !strings.HasPrefix(after, before) {
		t.Fatalf("logs after start lost earlier lines")
	}

	e.must("restart", "-t", "0", "tick")
	if rec2 := e.inspectLife("tick"); rec2.State != "running" || rec2.Pid == rec.Pid {
		t.Fatalf("after restart: %+v, want running with a new process (old pid %d)", rec2, rec.Pid)
	}

	e.must("kill", "-s", "KILL", "tick")
	rec = e.waitFor("tick", "exited after kill", isExited)
	if rec.ExitCode != 137 {
		t.Fatalf("after kill -s KILL: exit code %d, want 137", rec.ExitCode)
	}
	e.must("start", "tick")

	r = e.run("rm", "tick")
	if r.code != 1 || !strings.Contains(r.stderr, "rm -f") {
		t.Fatalf("rm of a running container without -f: want exit 1 and a hint at rm -f: %s", r)
	}
	e.must("rm", "-f", "tick")
	if pids := e.monitors(); len(pids) != 0 {
		t.Fatalf("monitor still running after rm -f: %v", pids)
	}
	if r := e.run("inspect", "tick"); r.code == 0 {
		t.Fatalf("container still known after rm -f: %s", r)
	}
}

func TestDetachedRunWithRmRemovesItselfWhenDone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	id := e.runD("--rm", "busybox", "true")
	deadline := time.Now().Add(cmdTimeout)
	for e.run("inspect", id).code == 0 || len(e.monitors()) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("run -d --rm: the container was not removed after it exited")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDetachedRunRefusesBadInputAndLeavesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "taken", "busybox", "sleep", "1000")
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"run", "-d", "--name", "taken", "busybox", "true"}, 125, "already in use"},
		{[]string{"run", "-d", "--restart", "sometimes", "busybox", "true"}, 125, "on-failure"},
		{[]string{"run", "-d", "--restart", "always:3", "busybox", "true"}, 125, "only on-failure"},
		{[]string{"run", "--restart", "always", "busybox", "true"}, 125, "needs -d"},
		{[]string{"run", "-d", "--rm", "--restart", "always", "busybox", "true"}, 125, "conflict"},
		{[]string{"run", "-d", "--log-opt", "max-size=big", "busybox", "true"}, 125, "max-size"},
		{[]string{"run", "-d", "--log-opt", "color=red", "busybox", "true"}, 125, "unknown --log-opt"},
		{[]string{"run", "-d", "busybox", "/no/such/command"}, 127, "no/such/command"},
		{[]string{"logs", "nosuch"}, 1, "no such container"},
		{[]string{"stop", "nosuch"}, 1, "no such container"},
		{[]string{"start", "nosuch"}, 1, "no such container"},
		{[]string{"kill", "-s", "NOPE", "taken"}, 1, "unknown signal"},
	} {
		r := e.run(c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("edgerun %s: want exit %d and %q in stderr, got %s", strings.Join(c.args, " "), c.code, c.msg, r)
		}
	}
	e.must("run", "--name", "fg", "busybox", "true")
	if r := e.run("logs", "fg"); r.code != 1 || !strings.Contains(r.stderr, "foreground") {
		t.Errorf("logs of a foreground container: want exit 1 saying it has no logs, got %s", r)
	}
	if r := e.run("kill", "fg"); r.code != 1 || !strings.Contains(r.stderr, "not running") {
		t.Errorf("kill of a stopped container: want exit 1 saying it is not running, got %s", r)
	}
	if ps := e.must("ps", "-aq"); strings.Count(ps, "\n") != 2 {
		t.Errorf("refused runs left containers behind:\n%s", ps)
	}
	e.must("rm", "-f", "taken", "fg")
}

func TestRestartPolicyOnFailureBacksOffAndStopsAtMax(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "crash", "--restart", "on-failure:3", "busybox", "sh", "-c", "echo run; exit 3")
	// While it waits to restart, the record says for how long: the delay
	// doubles from 100 ms with each restart.
	// As docker's, the delay starts over after a run of 10 s or more (a
	// slow emulated machine can take that long): it may only do so when
	// that long has passed since the previous restart was seen.
	seen, lastCount, lastSeen := 0, 0, time.Now()
	rec := e.waitFor("crash", "exited after 3 restarts", func(r lifeRecord) bool {
		if r.State == "restarting" {
			seen++
			want := (100 * time.Millisecond) << (r.RestartCount - 1)
			longRun := time.Since(lastSeen) >= restart.BackoffReset
			if r.RestartDelay != want && !(longRun && r.RestartDelay == restart.BackoffMin) {
				t.Errorf("restart %d: backoff %v, want %v", r.RestartCount, r.RestartDelay, want)
			}
			if r.RestartCount != lastCount {
				lastCount, lastSeen = r.RestartCount, time.Now()
			}
		}
		return r.State == "exited" && r.RestartCount == 3
	})
	if seen == 0 {
		t.Errorf("never saw the container restarting")
	}
	if rec.ExitCode != 3 {
		t.Fatalf("exit code %d, want 3", rec.ExitCode)
	}
	// 1 run + 3 restarts, and no more.
	time.Sleep(time.Second)
	if out := e.must("logs", "crash"); strings.Count(out, "run\n") != 4 {
		t.Fatalf("want 4 runs in the log, got:\n%s", out)
	}
	if rec = e.inspectLife("crash"); rec.RestartCount != 3 || rec.State != "exited" {
		t.Fatalf("restarted past the maximum: %+v", rec)
	}
	e.must("rm", "crash")
}

func TestStopDoesNotTriggerRestartPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "svc", "--restart", "always", "busybox", "sleep", "1000")
	e.must("stop", "-t", "0", "svc")
	time.Sleep(500 * time.Millisecond) // a restart would have happened by now
	if rec := e.inspectLife("svc"); rec.State != "exited" || rec.RestartCount != 0 {
		t.Fatalf("stop of a --restart always container: %+v, want exited and not restarted", rec)
	}
	// A crash (not a stop) is restarted.
	e.must("start", "svc")
	pid := e.inspectLife("svc").Pid
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitFor("svc", "restarted after its process was killed", func(r lifeRecord) bool {
		return r.State == "running" && r.RestartCount == 1
	})
	e.must("rm", "-f", "svc")
}

func TestLogsOf50MBStayWithinTheCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	id := e.runD("--name", "chatty", "--log-opt", "max-size=1m,max-file=2", "busybox", "sh", "-c",
		"yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 52428800; echo; echo the-end")
	e.waitFor("chatty", "exited", isExited)
	var total int64
	logs, _ := filepath.Glob(filepath.Join(e.root, "containers", id, "container.log*"))
	for _, p := range logs {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
	}
	if len(logs) > 2 || total > 2<<20 {
		t.Fatalf("50 MB of output left %d log files, %d bytes: want at most 2 files of 1 MiB", len(logs), total)
	}
	out := e.must("logs", "--tail", "2", "chatty")
	if !strings.HasSuffix(out, "\nthe-end\n") {
		t.Fatalf("logs --tail 2 after rotation: %q, want the last lines", out)
	}
	e.must("rm", "chatty")
}

func TestParallelDetachedRunsAndRemovals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	const n = 20
	var wg sync.WaitGroup
	res := make([]result, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = e.run("run", "-d", "--name", fmt.Sprintf("par%d", i), "busybox", "sleep", "1000")
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for i, r := range res {
		if r.code != 0 {
			t.Fatalf("run -d par%d: %s", i, r)
		}
		ids[strings.TrimSpace(r.stdout)] = true
		e.noteID(strings.TrimSpace(r.stdout))
	}
	if ps := e.must("ps", "-q"); len(ids) != n || strings.Count(ps, "\n") != n {
		t.Fatalf("want %d distinct running containers, got %d IDs and ps:\n%s", n, len(ids), ps)
	}
	// One monitor per container. A monitor re-executing itself (see
	// runtime/monitor_shed.go) shows no command line for an instant: look
	// again before failing.
	for try := 0; len(e.monitors()) != n; try++ {
		if try == 20 {
			t.Fatalf("want %d monitors, got %v", n, e.monitors())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// 20 IDs share a first hex digit somewhere (16 digits): that prefix is ambiguous.
	first := map[byte]int{}
	for id := range ids {
		first[id[0]]++
	}
	for c, k := range first {
		if k > 1 {
			if r := e.run("inspect", string(c)); r.code != 1 || !strings.Contains(r.stderr, "ambiguous") {
				t.Errorf("inspect of a prefix of %d containers: want exit 1, ambiguous: %s", k, r)
			}
			break
		}
	}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = e.run("rm", "-f", fmt.Sprintf("par%d", i))
		}()
	}
	wg.Wait()
	for i, r := range res {
		if r.code != 0 {
			t.Errorf("rm -f par%d: %s", i, r)
		}
	}
	if ps := e.must("ps", "-aq"); ps != "" {
		t.Fatalf("containers left after rm -f:\n%s", ps)
	}
}
