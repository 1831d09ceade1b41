package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgerun/edgerun/internal/testenv"
)

// Tests of the docker verbs of issue 16: wait, port, rename, pause and
// unpause, top, create and start, attach, and the flags --cidfile, exec -d,
// exec --privileged, rm -v and prune -f.

func TestWaitPrintsExitCodesOfDetachedForegroundAndRemovedContainers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "three", "busybox", "sh", "-c", "sleep 0.5; exit 3")
	if out := e.must("wait", "three"); out != "3\n" {
		t.Fatalf("wait on a detached container: %q, want 3", out)
	}
	// Exited already: not-running returns at once.
	if out := e.must("wait", "three"); out != "3\n" {
		t.Fatalf("wait on an exited container: %q, want 3", out)
	}
	// An unknown container: its error, the others' codes, exit 1.
	if r := e.run("wait", "three", "nosuch"); r.code != 1 || r.stdout != "3\n" || !strings.Contains(r.stderr, "no such container: nosuch") {
		t.Fatalf("wait three nosuch: %s", r)
	}
	if r := e.run("wait", "--condition", "soon", "three"); r.code != 1 || !strings.Contains(r.stderr, "not-running, next-exit or removed") {
		t.Fatalf("wait --condition soon: %s", r)
	}

	// A foreground container, waited on from another command.
	b := e.start("run", "--name", "fg", "busybox", "sh", "-c", "echo up; sleep 0.5; exit 5")
	b.waitLine(t, "up")
	if out := e.must("wait", "fg"); out != "5\n" {
		t.Fatalf("wait on a foreground container: %q, want 5", out)
	}
	if code, _ := b.wait(t); code != 5 {
		t.Fatalf("run exited %d, want 5", code)
	}

	// --rm: its record goes, its exit code is still printed.
	e.runD("--rm", "--name", "gone", "busybox", "sh", "-c", "sleep 0.5; exit 4")
	if out := e.must("wait", "gone"); out != "4\n" {
		t.Fatalf("wait on a --rm container: %q, want 4", out)
	}
	e.runD("--rm", "--name", "gone2", "busybox", "sh", "-c", "sleep 0.5; exit 6")
	if out := e.must("wait", "--condition", "removed", "gone2"); out != "6\n" {
		t.Fatalf("wait --condition removed: %q, want 6", out)
	}

	// A restart policy: wait returns at the first exit, as docker's;
	// next-exit waits for the one after.
	e.runD("--name", "again", "--restart", "on-failure:1", "busybox", "sh", "-c", "sleep 0.5; exit 7")
	if out := e.must("wait", "again"); out != "7\n" {
		t.Fatalf("wait on a restarting container: %q, want 7", out)
	}
	if out := e.must("wait", "--condition", "next-exit", "again"); out != "7\n" {
		t.Fatalf("wait --condition next-exit: %q, want 7", out)
	}
	e.waitFor("again", "its last exit", isExited)
	e.must("rm", "three", "fg", "again")
}

func TestWaitReturnsWhenTheMonitorIsKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "orphan", "busybox", "sleep", "300")
	mon := e.inspectLife("orphan").MonitorPid
	// Not e.start: its Wait closes the stdout pipe as soon as wait exits,
	// racing the read of the code wait printed.
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := e.command(ctx, "wait", "orphan")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(300 * time.Millisecond) // let wait block; it must not return before the kill
	select {
	case err := <-done:
		t.Fatalf("wait returned while the container ran: %v, %s", err, stderr.String())
	default:
	}
	if err := syscallKill(mon); err != nil {
		t.Fatal(err)
	}
	// The owner lock is free: wait reaps the orphan (killed: 137) itself.
	code, out := exitCode(t, <-done), stdout.String()
	if code != 0 || (out != "-1\n" && out != "137\n") {
		t.Fatalf("wait after the monitor was killed: exit %d, %q, stderr %q", code, out, stderr.String())
	}
	e.must("rm", "-f", "orphan")
}

func TestPauseFreezesStopsProbesAndStopStillEnds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "p", "--health-cmd", "true", "--health-interval", "200ms", "--health-retries", "1",
		"busybox", "sh", "-c", ticker)
	e.waitHealth("p", "healthy", status("healthy"))
	if testenv.Rootless() && testenv.Delegation() == "" {
		// No cgroup, no freezer: refused, saying why.
		if r := e.run("pause", "p"); r.code != 1 || !strings.Contains(r.stderr, "rootless containers get none") {
			t.Errorf("pause of a rootless container without a cgroup: %s", r)
		}
		e.must("rm", "-f", "p")
		return
	}
	e.must("pause", "p")
	pausedAt := time.Now()
	if ps := e.must("ps"); !strings.Contains(ps, "(Paused)") {
		t.Fatalf("ps does not say (Paused):\n%s", ps)
	}
	if r := e.run("pause", "p"); r.code != 1 || !strings.Contains(r.stderr, "paused") {
		t.Fatalf("pause of a paused container: %s", r)
	}
	if r := e.run("exec", "p", "true"); r.code != 1 || !strings.Contains(r.stderr, "unpause") {
		t.Fatalf("exec in a paused container: %s", r)
	}
	before := e.must("logs", "p")
	time.Sleep(time.Second) // 5 probe intervals, 10 ticks
	if after := e.must("logs", "p"); after != before {
		t.Fatalf("a paused container went on writing output")
	}
	// A frozen container is not probed: no result of the paused second is
	// recorded (one would be a timeout, a failure).
	h := e.inspectHealth("p")
	if h.Health == nil || h.Health.Status != "healthy" || h.Health.FailingStreak != 0 {
		t.Fatalf("health after a paused second: %+v, want healthy with no failures", h.Health)
	}
	for _, l := range h.Health.Log {
		if l.Start.After(pausedAt) {
			t.Fatalf("a probe of the paused container was recorded: %+v", l)
		}
	}
	e.must("unpause", "p")
	if r := e.run("unpause", "p"); r.code != 1 || !strings.Contains(r.stderr, "not paused") {
		t.Fatalf("unpause of a running container: %s", r)
	}
	e.waitLogs("p", before+"out ")
	// stop and kill end a paused container (sh ignores TERM: KILL after 1 s).
	e.must("pause", "p")
	e.must("stop", "-t", "1", "p")
	if rec := e.inspectLife("p"); rec.State != "exited" || rec.ExitCode != 137 {
		t.Fatalf("stop of a paused container: %+v", rec)
	}
	e.must("start", "p")
	e.must("pause", "p")
	e.must("kill", "p")
	e.waitFor("p", "killed while paused", isExited)
	if r := e.run("pause", "p"); r.code != 1 || !strings.Contains(r.stderr, "not running") {
		t.Fatalf("pause of a stopped container: %s", r)
	}
	if r := e.run("pause", "nosuch"); r.code != 1 || !strings.Contains(r.stderr, "no such container") {
		t.Fatalf("pause nosuch: %s", r)
	}
	e.must("rm", "p")
}

func TestTopListsTheContainersProcesses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "t", "busybox", "sh", "-c", "sleep 301 & sleep 302 & wait")
	var out string
	for range 100 { // the shell starts its children
		if out = e.must("top", "t"); strings.Contains(out, "sleep 302") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if h := strings.Fields(lines[0]); strings.Join(h, " ") != "UID PID PPID C STIME TTY TIME CMD" {
		t.Fatalf("top header: %q", lines[0])
	}
	if len(lines) != 4 || !strings.Contains(out, "sleep 301") || !strings.Contains(out, "sh -c sleep 301") {
		t.Fatalf("top: want sh and its two sleeps, got\n%s", out)
	}
	if _, err := exec.LookPath("ps"); err == nil {
		out = e.must("top", "t", "-o", "pid,args")
		if !strings.HasPrefix(strings.TrimSpace(out), "PID") || strings.Count(out, "\n") != 4 || !strings.Contains(out, "sleep 302") {
			t.Fatalf("top -o pid,args: want only the container's three processes, got\n%s", out)
		}
		if r := e.run("top", "t", "-o", "args"); r.code != 1 || !strings.Contains(r.stderr, "PID column") {
			t.Fatalf("top without a PID column: %s", r)
		}
	}
	e.must("rm", "-f", "t")
	if r := e.run("top", "t"); r.code != 1 || !strings.Contains(r.stderr, "no such container") {
		t.Fatalf("top of a removed container: %s", r)
	}
}

func TestCreateThenStartRunsDetachedAndCidfileIsWritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	cid := filepath.Join(e.base, "cid")
	id := strings.TrimSpace(e.must("create", "--name", "c", "--cidfile", cid, "busybox", "sh", "-c", "echo hello; sleep 300"))
	if !fullID.MatchString(id) {
		t.Fatalf("create printed %q, want an ID", id)
	}
	e.noteID(id)
	if b, err := os.ReadFile(cid); err != nil || string(b) != id {
		t.Fatalf("--cidfile holds %q (%v), want %s", b, err, id)
	}
	if rec := e.inspectLife("c"); rec.State != "created" || rec.MonitorPid != 0 {
		t.Fatalf("after create: %+v, want created, no monitor", rec)
	}
	if ps := e.must("ps", "-a"); !strings.Contains(ps, "Created") {
		t.Fatalf("ps -a does not say Created:\n%s", ps)
	}
	// Another command does not take it for a half-made container.
	e.must("ps", "-a")
	if rec := e.inspectLife("c"); rec.State != "created" {
		t.Fatalf("a created container changed state by itself: %+v", rec)
	}
	// The cidfile exists: refused (125), nothing made.
	if r := e.run("create", "--cidfile", cid, "busybox", "true"); r.code != 125 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("create with an existing --cidfile: %s", r)
	}
	if n := len(strings.Fields(e.must("ps", "-aq"))); n != 1 {
		t.Fatalf("%d containers after a refused create, want 1", n)
	}
	e.must("start", "c")
	if rec := e.inspectLife("c"); rec.State != "running" || rec.MonitorPid == 0 {
		t.Fatalf("after start: %+v, want running under a monitor", rec)
	}
	e.waitLogs("c", "hello\n")
	e.must("rm", "-f", "c")
	// run --cidfile, and a created container removed without starting.
	cid2 := filepath.Join(e.base, "cid2")
	id = e.runD("--cidfile", cid2, "busybox", "sleep", "300")
	if b, _ := os.ReadFile(cid2); string(b) != id {
		t.Fatalf("run -d --cidfile holds %q, want %s", b, id)
	}
	e.must("rm", "-f", id)
	e.noteID(strings.TrimSpace(e.must("create", "--name", "never", "busybox", "true")))
	e.must("rm", "never")

	// start -a: the run's whole output (none lost before attach follows
	// it), and its exit code; -i passes the input.
	e.noteID(strings.TrimSpace(e.must("create", "--name", "sa", "busybox", "sh", "-c", "echo one; exit 9")))
	if r := e.run("start", "-a", "sa"); r.code != 9 || r.stdout != "one\n" {
		t.Fatalf("start -a: %s, want exit 9 after one", r)
	}
	e.noteID(strings.TrimSpace(e.must("create", "-i", "--name", "si", "busybox", "sh", "-c", "read l; echo got $l")))
	if r := e.runIn([]byte("hello\n"), "start", "-a", "-i", "si"); r.code != 0 || r.stdout != "got hello\n" {
		t.Fatalf("start -a -i: %s", r)
	}
	e.must("rm", "sa", "si")
}

func TestAttachFollowsOutputTakesInputAndExitsWithTheContainer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("-i", "--name", "echo", "busybox", "sh", "-c", `echo ready; while read l; do echo "got $l"; [ "$l" = bye ] && exit 3; done`)
	e.waitLogs("echo", "ready\n")
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := e.command(ctx, "attach", "echo")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(outPipe)
	// Input sent right after attach starts may reach the container before
	// attach follows the log: send until the answer shows.
	got := make(chan string, 1)
	go func() {
		line, _ := out.ReadString('\n')
		got <- line
	}()
	answered := false
	for i := 0; i < 50 && !answered; i++ {
		fmt.Fprintln(in, "hi")
		select {
		case line := <-got:
			if line != "got hi\n" {
				t.Fatalf("attach printed %q, want got hi", line)
			}
			answered = true
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !answered {
		t.Fatal("attach: the container never answered")
	}
	fmt.Fprintln(in, "bye")
	rest, _ := io.ReadAll(out)
	err = cmd.Wait()
	if code := exitCode(t, err); code != 3 || !strings.Contains(string(rest), "got bye\n") {
		t.Fatalf("attach: exit %d, rest %q; want exit 3 after got bye", code, rest)
	}
	if r := e.run("attach", "echo"); r.code != 1 || !strings.Contains(r.stderr, "start it first") {
		t.Fatalf("attach to a stopped container: %s", r)
	}

	// Output only: attach ends when the container is stopped, with its code.
	e.runD("--name", "tick", "busybox", "sh", "-c", ticker)
	b := e.start("attach", "--no-stdin", "tick")
	b.waitLine(t, "out 2") // the lines from now on; an old one may be it too
	e.must("stop", "-t", "1", "tick")
	if code, _ := b.wait(t); code != 137 {
		t.Fatalf("attach exited %d when the container was killed, want 137", code)
	}
	e.must("rm", "echo", "tick")
}

func TestExecDetachedAndPrivilegedAndRmVAndPruneF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "x", "busybox", "sleep", "300")
	if out := e.must("exec", "-d", "x", "sh", "-c", "sleep 0.2; echo done > /tmp/f"); out != "" {
		t.Fatalf("exec -d printed %q, want nothing", out)
	}
	deadline := time.Now().Add(cmdTimeout)
	for e.run("exec", "x", "cat", "/tmp/f").stdout != "done\n" {
		if time.Now().After(deadline) {
			t.Fatal("exec -d: the detached command never ran")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := e.run("exec", "-d", "-t", "x", "true"); r.code == 0 {
		t.Fatalf("exec -d -t accepted: %s", r)
	}
	plain := e.must("exec", "x", "grep", "CapEff", "/proc/self/status")
	priv := e.must("exec", "--privileged", "x", "grep", "CapEff", "/proc/self/status")
	if plain == priv || !strings.Contains(priv, "CapEff") {
		t.Fatalf("exec --privileged: capabilities %q, the same as without (%q)", priv, plain)
	}
	e.must("rm", "-f", "-v", "x")
	y := e.runD("--name", "y", "busybox", "true")
	e.waitFor("y", "exited", isExited)
	if out := e.must("prune", "-f"); !strings.Contains(out, y) || e.run("inspect", "y").code != 1 {
		t.Fatalf("prune -f: %q, want it to remove y", out)
	}
}

func TestPortAndRenameOnTheBridge(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.must("load", "-i", imagePath(t, "sensor"))
	n.loadBusybox()
	port := freePort(t)
	if r := n.run("run", "-d", "--name", "web", "--network", "bridge", "-p", fmt.Sprintf("%d:8080", port), "sensor", "serve"); r.code != 0 {
		t.Fatalf("run web: %s", r)
	}
	if r := n.run("port", "web"); r.code != 0 || r.stdout != fmt.Sprintf("8080/tcp -> 0.0.0.0:%d\n", port) {
		t.Fatalf("port web: %s", r)
	}
	if r := n.run("port", "web", "8080/tcp"); r.code != 0 || r.stdout != fmt.Sprintf("0.0.0.0:%d\n", port) {
		t.Fatalf("port web 8080/tcp: %s", r)
	}
	if r := n.run("port", "web", "53/udp"); r.code != 1 || !strings.Contains(r.stderr, "does not publish 53/udp") {
		t.Fatalf("port web 53/udp: %s", r)
	}
	if r := n.run("port", "nosuch"); r.code != 1 || !strings.Contains(r.stderr, "no such container") {
		t.Fatalf("port nosuch: %s", r)
	}

	// rename: a running container, its peers' /etc/hosts follow.
	if r := n.run("run", "-d", "--name", "peer", "--network", "bridge", "busybox", "sleep", "300"); r.code != 0 {
		t.Fatalf("run peer: %s", r)
	}
	if r := n.run("rename", "web", "sensor1"); r.code != 0 || r.stdout != "" {
		t.Fatalf("rename web sensor1: %s", r)
	}
	if r := n.run("inspect", "web"); r.code != 1 {
		t.Fatalf("the old name still names a container: %s", r)
	}
	if r := n.run("port", "sensor1"); r.code != 0 || !strings.Contains(r.stdout, "8080/tcp") {
		t.Fatalf("port under the new name: %s", r)
	}
	if r := n.run("exec", "peer", "cat", "/etc/hosts"); !strings.Contains(r.stdout, "sensor1") || strings.Contains(r.stdout, " web") {
		t.Fatalf("peer's /etc/hosts after the rename:\n%s", r)
	}
	if r := n.run("rename", "peer", "sensor1"); r.code != 1 || !strings.Contains(r.stderr, "already in use") {
		t.Fatalf("rename to a taken name: %s", r)
	}
	if r := n.run("rename", "peer", "bad name"); r.code != 1 {
		t.Fatalf("rename to an invalid name: %s", r)
	}
	// The old name is free again.
	if r := n.run("run", "-d", "--name", "web", "--network", "none", "busybox", "true"); r.code != 0 {
		t.Fatalf("run --name web after the rename: %s", r)
	}
}

// syscallKill SIGKILLs a process.
func syscallKill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
