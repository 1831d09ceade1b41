package reliability

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// defaultSeed makes the random kills the same sequence of operations and
// of kill points (the fraction of each operation's expected duration at
// which it is killed) on every run; the delays follow the durations
// measured in that run. EDGERUN_RELIABILITY_SEED picks another sequence,
// EDGERUN_RELIABILITY_KILLS another count.
const (
	defaultSeed  = 12
	defaultKills = 300
	killWorkers  = 4
	// firstGuess is an operation's expected duration until one of its
	// kind has finished unkilled.
	firstGuess = 200 * time.Millisecond
	// durationWindow is how many of the latest unkilled durations of an
	// operation its estimate is the longest of.
	durationWindow = 5
)

func envInt(name string, def uint64) uint64 {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			return n
		}
	}
	return def
}

// killStats counts what the injections did, per operation, and keeps
// each kind's expected duration: the longest of its latest unkilled runs
// (durationWindow). The longest, not the mean: a run that finished before
// its kill came is one of the short ones, so a mean would drift down and
// the kills would crowd into the first steps.
type killStats struct {
	mu        sync.Mutex
	ops       map[string]int // operations started
	killed    map[string]int // killed while running (the rest had finished)
	completed int
	took      map[string][]time.Duration // latest unkilled durations per kind
}

func newKillStats() *killStats {
	return &killStats{ops: map[string]int{}, killed: map[string]int{}, took: map[string][]time.Duration{}}
}

// expected is the duration a kind of operation is expected to take.
func (s *killStats) expected(kind string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.took[kind]) == 0 {
		return firstGuess
	}
	return slices.Max(s.took[kind])
}

func (s *killStats) add(op, kind string, r result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops[op]++
	if r.killed {
		s.killed[op]++
		return
	}
	s.completed++
	s.took[kind] = append(s.took[kind], r.took)
	if n := len(s.took[kind]); n > durationWindow {
		s.took[kind] = s.took[kind][n-durationWindow:]
	}
}

func (s *killStats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ops, kinds []string
	for op := range s.ops {
		ops = append(ops, op)
	}
	for k := range s.took {
		kinds = append(kinds, k)
	}
	sort.Strings(ops)
	sort.Strings(kinds)
	var b strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&b, "%s %d: killed %d, finished %d; ", op, s.ops[op], s.killed[op], s.ops[op]-s.killed[op])
	}
	b.WriteString("expected durations at the end:")
	for _, k := range kinds {
		fmt.Fprintf(&b, " %s %v,", k, slices.Max(s.took[k]).Round(time.Millisecond))
	}
	return strings.TrimSuffix(b.String(), ",")
}

// TestRandomKills sends SIGKILL to edgerun at a random moment of load, run
// --rm, run -d, rm -f, prune, image prune and rmi, a few hundred times, in
// several private roots at once. The moment is drawn uniformly from the
// operation's expected duration (the longest of its kind's latest unkilled
// runs), so that most kills land while the command runs, at any of its
// steps. After every kill the next command works, nothing acknowledged is
// lost and no image is named without its blobs; every 25 kills and at the
// end `edgerun check` (when present) finds nothing to repair; at the end
// every container can be removed and nothing is left (teardown). The seed
// is logged: the same seed replays the same operations and kill points.
func TestRandomKills(t *testing.T) {
	bin := setup(t)
	seed := envInt("EDGERUN_RELIABILITY_SEED", defaultSeed)
	total := int(envInt("EDGERUN_RELIABILITY_KILLS", defaultKills))
	t.Logf("random kills: seed %d (EDGERUN_RELIABILITY_SEED=%d replays them), %d injections in %d roots, "+
		"each at a uniform fraction of its operation's expected duration (first guess %v)",
		seed, seed, total, killWorkers, firstGuess)
	stats := newKillStats()
	start := time.Now()
	t.Run("roots", func(t *testing.T) {
		for w := range killWorkers {
			n := total / killWorkers
			if w < total%killWorkers {
				n++
			}
			t.Run(strconv.Itoa(w), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, bin)
				injectKills(e, rand.New(rand.NewPCG(seed, uint64(w))), n, stats)
			})
		}
	})
	t.Logf("random kills: %d injections in %v, %d killed a running command, %d had finished before their kill: %s",
		total, time.Since(start).Round(time.Second), total-stats.completed, stats.completed, stats)
}

// injectKills runs n operations with a kill at a random moment of each.
func injectKills(e *env, rng *rand.Rand, n int, stats *killStats) {
	t := e.t
	image := imagePath(t, "busybox")
	e.loadBusybox() // a first load takes longer than the longest delay
	imageAcked := true
	var listed []ctr
	for i := range n {
		op, args := pickOperation(rng, imageAcked, listed, image)
		if op == "prune" {
			// Prune removes what is stopped, acknowledged or not.
			for _, c := range listed {
				if c.State != "running" && c.State != "restarting" {
					e.forget(c.ID)
				}
			}
		}
		kind := operationKind(op, args)
		// A fraction in (0, 1] from the seed; the duration from this run.
		delay := time.Duration((1 - rng.Float64()) * float64(stats.expected(kind)))
		r := e.exec("", max(delay, time.Nanosecond), args...)
		stats.add(op, kind, r)
		switch {
		case r.killed && op == "rm -f":
			e.forget(args[2]) // removed or not: no longer promised
		case r.killed:
		case r.code != 0:
			t.Errorf("injection %d: %s did not fail by the kill: %s", i, op, r)
		case op == "load":
			imageAcked = true
			e.acked("busybox:latest")
		case op == "run -d":
			e.ackContainer(strings.TrimSpace(r.stdout), args)
		case op == "rm -f":
			e.forget(args[2])
		}
		if op == "rmi" {
			imageAcked = false
			e.mu.Lock()
			e.ackImage = map[string]bool{}
			e.mu.Unlock()
		}
		what := fmt.Sprintf("injection %d (%s, kill after %v, killed %v)", i, op, delay.Round(time.Millisecond), r.killed)
		if (i+1)%25 == 0 || i == n-1 {
			e.settle()
			e.checkState(what)
		} else {
			e.quickCheck(what)
		}
		listed, _ = e.containers()
		if t.Failed() {
			t.Fatalf("stopping after the first failure (%s)", what)
		}
	}
}

// operationKind is what an operation's duration depends on: the
// operation, and for a run its network (none, the bridge, the bridge with
// a published port).
func operationKind(op string, args []string) string {
	if !strings.HasPrefix(op, "run") {
		return op
	}
	switch a := " " + strings.Join(args, " ") + " "; {
	case strings.Contains(a, " --network none "):
		return op + " (none)"
	case strings.Contains(a, " -p "):
		return op + " (-p)"
	}
	return op + " (bridge)"
}

// pickOperation chooses the next operation: load until the image is
// acknowledged again after an rmi, else a mix weighted towards runs and
// removals.
func pickOperation(rng *rand.Rand, imageAcked bool, listed []ctr, image string) (string, []string) {
	if !imageAcked {
		return "load", []string{"load", "-i", image}
	}
	// The network: bridge (the default), bridge with a published port, or
	// none (quicker).
	port := func(args []string) []string {
		switch rng.IntN(3) {
		case 0:
			return append(args, "-p", "80")
		case 1:
			return append(args, "--network", "none")
		}
		return args
	}
	switch x := rng.IntN(100); {
	case x < 10:
		return "load", []string{"load", "-i", image}
	case x < 35:
		return "run --rm", append(port([]string{"run", "--rm"}), "busybox", "true")
	case x < 60 || (x < 85 && len(listed) == 0):
		policy := []string{"no", "always", "unless-stopped"}[rng.IntN(3)]
		return "run -d", append(port([]string{"run", "-d", "--restart", policy}), sleeper...)
	case x < 85:
		return "rm -f", []string{"rm", "-f", listed[rng.IntN(len(listed))].ID}
	case x < 94:
		return "prune", []string{"prune"}
	case x < 98:
		return "image prune", []string{"image", "prune"}
	}
	return "rmi", []string{"rmi", "-f", "busybox"}
}
