package e2e

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Once the container runs, its monitor is the C one (monitor_relay.c):
// one thread, no Go runtime. It logs long, partial and unended lines of
// both streams as the Go writer does (runtime's TestCMonitor* compare the
// two), and hands the exit back to the Go monitor, which records it.
func TestRunningContainersMonitorIsTheCRelayAndLogsBothStreams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	script := `printf 'first\n'; printf 'partial-'; sleep 0.2; printf 'line\n'; printf 'to stderr\n' >&2
head -c 40000 /dev/zero | tr '\0' a; printf '\n'; head -c 20000 /dev/zero | tr '\0' b >&2
printf '\nerr end\nno newline' >&2; echo ready; exec sleep 100000`
	e.runD("--name", "relay", "busybox", "sh", "-c", script)
	e.waitLogs("relay", "ready\n")
	// Each stream is its own pipe: stderr's last ended line may follow stdout's.
	wantErr := "to stderr\n" + strings.Repeat("b", 20000) + "\nerr end\n"
	for deadline := time.Now().Add(cmdTimeout); !strings.HasSuffix(e.run("logs", "relay").stderr, "err end\n"); {
		if time.Now().After(deadline) {
			t.Fatal("logs: stderr's lines were not logged")
		}
		time.Sleep(50 * time.Millisecond)
	}
	rec := e.inspectLife("relay")
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(rec.MonitorPid) + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if args := strings.Split(string(cmdline), "\x00"); len(args) < 6 || args[5] != "relay" {
		t.Fatalf("monitor %d runs %q, want the C monitor (__monitor ROOT STATE ID relay ...)", rec.MonitorPid, args)
	} else if args[0] != "edgerun-mon relay" {
		t.Errorf("monitor %d shows as %q in ps, want edgerun-mon relay (its container's name)", rec.MonitorPid, args[0])
	}
	if comm, err := os.ReadFile("/proc/" + strconv.Itoa(rec.MonitorPid) + "/comm"); err != nil || string(comm) != "edgerun-mon\n" {
		t.Errorf("monitor %d shows as %q in top and pgrep (%v), want edgerun-mon", rec.MonitorPid, comm, err)
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(rec.MonitorPid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "\nThreads:\t1\n") {
		t.Fatalf("monitor %d has more than one thread (the Go runtime runs):\n%s", rec.MonitorPid, status)
	}
	r := e.run("logs", "relay")
	wantOut := "first\npartial-line\n" + strings.Repeat("a", 40000) + "\nready\n"
	if r.code != 0 || r.stdout != wantOut || r.stderr != wantErr {
		t.Fatalf("logs: exit %d, stdout %d bytes (want %d), stderr %d bytes (want %d): %.300s", r.code,
			len(r.stdout), len(wantOut), len(r.stderr), len(wantErr), r)
	}
	monitor := rec.MonitorPid
	e.must("kill", "-s", "KILL", "relay")
	rec = e.waitFor("relay", "exited after kill", isExited)
	if rec.ExitCode != 137 || alive(monitor) {
		t.Fatalf("after kill -s KILL: %+v, want exit code 137 recorded and the monitor gone", rec)
	}
	// The stderr line without its newline is logged once the stream ends.
	if r := e.run("logs", "relay"); r.stderr != wantErr+"no newline\n" {
		t.Fatalf("logs after the exit: stderr ends %q, want the unended line logged", r.stderr[max(0, len(r.stderr)-40):])
	}
	e.must("rm", "relay")
}
