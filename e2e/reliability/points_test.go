package reliability

import (
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgerun/edgerun/internal/fault"
)

// operation is a command a fault point interrupts: the state it acts on
// (made without faults), its arguments, and its retry, which must succeed.
type operation struct {
	prepare func(e *env)
	args    func(e *env) []string
	retry   func(e *env)
	// kept, when set, checks what the killed operation must still have
	// (beyond the acknowledged containers and images).
	kept func(e *env, when string)
	// pending are the kinds of check's findings the killed operation
	// leaves, by design, for its retry (or boot) to finish: after the
	// kill check must report them and nothing else; after the retry,
	// nothing.
	pending []string
}

// scenario fires one fault point: the operation, and whether the point is
// in the monitor the operation starts rather than in the command itself.
type scenario struct {
	op      operation
	monitor bool
}

// scenarios says how the suite reaches every point of internal/fault.
func scenarios() map[string]scenario {
	cli := func(op operation) scenario { return scenario{op: op} }
	mon := func(op operation) scenario { return scenario{op: op, monitor: true} }
	return map[string]scenario{
		"load/after-ingest":     cli(opLoad),
		"load/after-blob":       cli(opLoad),
		"layers/before-publish": cli(opLoad),
		"load/before-index":     cli(opLoad),
		"load/after-index":      cli(opLoad),

		"pull/mid-blob":     cli(opPull()),
		"pull/after-blob":   cli(opPull()),
		"pull/before-index": cli(opPull()),

		"image-prune/after-blobs":     cli(opImagePrune),
		"image-prune/after-unpublish": cli(opImagePrune),

		"run/after-lock":         cli(opRun),
		"run/after-name":         cli(opRun),
		"run/after-rootfs":       cli(opRun),
		"network/after-lease":    cli(opRun),
		"network/after-veth":     cli(opRun),
		"run/after-network":      cli(opRun),
		"run/after-record":       cli(opRun),
		"run/after-libcontainer": cli(opRun),
		"run/after-start":        cli(opRunRm),
		"run/after-exec":         cli(opRunRm),
		"run/after-exit":         cli(opRunRm),

		"run-d/before-handover":      cli(opRunD),
		"run-d/after-handover":       cli(opRunD),
		"monitor/after-libcontainer": mon(opRunD),
		"monitor/after-start":        mon(opRunD),
		"monitor/before-exit-record": mon(opRunDExits("no")),
		"monitor/before-restart":     mon(opRunDExits("on-failure:2")),

		"stop/after-mark":        cli(opStop),
		"stop/after-signal":      cli(opStop),
		"rm/after-destroy":       cli(opRm),
		"network/before-release": cli(opRm),
		"remove/after-network":   cli(opRm),
		"remove/after-record":    cli(opRm),
		"prune/after-remove":     cli(opPrune),

		"start/before-handover": cli(opStart),
		"reap/after-kill":       cli(opReap),
		"reap/before-restart":   cli(opReap),
		"boot/after-clear":      cli(opBoot(true)),
		"boot/before-start":     cli(opBoot(false)),

		"update/after-journal":         cli(opUpdate(false)),
		"update/after-create":          cli(opUpdate(false)),
		"update/after-healthy":         cli(opUpdate(false)),
		"update/after-switch":          cli(opUpdate(false)),
		"update/after-remove-old":      cli(opUpdate(false)),
		"update/after-rename":          cli(opUpdate(false)),
		"update/after-rollback-remove": cli(opUpdate(true)),
	}
}

// hit picks the hit of a point that leaves the most interesting state,
// for points passed more than once by their operation.
var hit = map[string]int{
	"load/after-blob": 2, // one blob of three published
}

// TestFaultPoints fires every fault point of internal/fault once: the
// process is SIGKILLed at that step. After each: the process died there
// (by SIGKILL, the point's log line names its PID); the next command
// works; nothing acknowledged is lost; no image is named without its
// blobs; `edgerun check` (when present) finds nothing to repair; the
// operation retried succeeds; and at the end every container listed can
// be removed and nothing is left on the host (teardown).
func TestFaultPoints(t *testing.T) {
	bin := setup(t)
	table := scenarios()
	points := fault.Points()
	for _, p := range points {
		if _, ok := table[p.Name]; !ok {
			t.Errorf("fault point %s (%s) has no scenario: add one to scenarios()", p.Name, p.Leaves)
		}
	}
	for name := range table {
		if !fault.Known(name) {
			t.Errorf("scenario for %s, which internal/fault does not list", name)
		}
	}
	start := time.Now()
	var ran, fired atomic.Int32
	t.Run("points", func(t *testing.T) {
		for _, p := range points {
			sc, ok := table[p.Name]
			if !ok {
				continue
			}
			t.Run(p.Name, func(t *testing.T) {
				t.Parallel()
				ran.Add(1)
				e := newEnv(t, bin)
				if fireAndCheck(e, p.Name, sc) {
					fired.Add(1)
				}
			})
		}
	})
	t.Logf("fault points: %d listed, %d run, %d fired in the right process and checked, in %v",
		len(points), ran.Load(), fired.Load(), time.Since(start).Round(time.Second))
	if fired.Load() != ran.Load() {
		t.Errorf("only %d of the %d fault points run fired", fired.Load(), ran.Load())
	}
}

// fireAndCheck runs one scenario; it reports whether the point fired where
// it should (the checks after it report their own failures).
func fireAndCheck(e *env, point string, sc scenario) (fired bool) {
	t := e.t
	sc.op.prepare(e)
	arm := point
	if n := hit[point]; n > 1 {
		arm += "@" + strconv.Itoa(n)
	}
	args := sc.op.args(e)
	held := e.lockHolders()
	r := e.exec(arm, 0, args...)
	pid := e.firedIn(point, cmdTimeout)
	switch {
	case pid == 0:
		t.Fatalf("fault point %s did not fire: %s\nlock files held before the command: %v", point, r, held)
	case !sc.monitor && (!r.killed || pid != r.pid):
		t.Fatalf("fault point %s fired in process %d, want the command (%d) killed by it: %s", point, pid, r.pid, r)
	case sc.monitor && pid == r.pid:
		t.Fatalf("fault point %s fired in the command, want its monitor: %s", point, r)
	}
	waitGone(t, pid)
	fired = true
	if sc.monitor && r.code == 0 && strings.HasPrefix(strings.Join(r.args, " "), "run -d") {
		e.ackContainer(strings.TrimSpace(r.stdout), r.args)
	}
	e.settle()
	when := "after " + point
	e.quickCheck(when)
	if sc.op.kept != nil {
		sc.op.kept(e, when)
	}
	e.checkRepairs(when, sc.op.pending...)
	sc.op.retry(e)
	e.checkState("after the retry of " + point)
	return fired
}

// firedIn waits (at most d) for point's line in the fault log and returns
// the PID it names; 0 when the point did not fire.
func (e *env) firedIn(point string, d time.Duration) int {
	deadline := time.Now().Add(d)
	for {
		b, _ := os.ReadFile(e.log)
		for _, line := range strings.Split(string(b), "\n") {
			if p, pid, ok := strings.Cut(line, " "); ok && p == point {
				n, _ := strconv.Atoi(pid)
				return n
			}
		}
		if time.Now().After(deadline) {
			return 0
		}
		time.Sleep(20 * time.Millisecond)
	}
}
