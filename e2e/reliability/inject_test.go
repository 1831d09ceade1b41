package reliability

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// defaultSeed makes the random kills the same sequence of operations and
// delays on every run (timing still varies); EDGERUN_RELIABILITY_SEED
// picks another sequence, EDGERUN_RELIABILITY_KILLS another count.
const (
	defaultSeed  = 12
	defaultKills = 300
	killWorkers  = 4
	maxKillDelay = 200 * time.Millisecond
)

func envInt(name string, def uint64) uint64 {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			return n
		}
	}
	return def
}

// killStats counts what the injections did, per operation.
type killStats struct {
	mu        sync.Mutex
	ops       map[string]int // operations started
	killed    map[string]int // killed while running (the rest had finished)
	completed int
}

func (s *killStats) add(op string, killed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops[op]++
	if killed {
		s.killed[op]++
	} else {
		s.completed++
	}
}

func (s *killStats) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ops []string
	for op := range s.ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&b, "%s %d (killed %d); ", op, s.ops[op], s.killed[op])
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// TestRandomKills sends SIGKILL to edgerun at a random moment (0-200 ms)
// of load, run --rm, run -d, rm -f, prune and image prune, a few hundred
// times, in several private roots at once. After every kill the next
// command works, nothing acknowledged is lost and no image is named
// without its blobs; every 25 kills and at the end `edgerun check` (when
// present) finds nothing to repair; at the end every container can be
// removed and nothing is left (teardown). The seed is logged: the same
// seed replays the same operations and delays.
func TestRandomKills(t *testing.T) {
	bin := setup(t)
	seed := envInt("EDGERUN_RELIABILITY_SEED", defaultSeed)
	total := int(envInt("EDGERUN_RELIABILITY_KILLS", defaultKills))
	t.Logf("random kills: seed %d (EDGERUN_RELIABILITY_SEED=%d replays them), %d injections in %d roots, delays 0-%v",
		seed, seed, total, killWorkers, maxKillDelay)
	stats := &killStats{ops: map[string]int{}, killed: map[string]int{}}
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
	t.Logf("random kills: %d injections in %v: %s; %d had finished before their kill",
		total, time.Since(start).Round(time.Second), stats, stats.completed)
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
		delay := time.Duration(rng.Int64N(int64(maxKillDelay) + 1))
		r := e.exec("", delay, args...)
		stats.add(op, r.killed)
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

// pickOperation chooses the next operation: load until the image is
// acknowledged again after an rmi, else a mix weighted towards runs and
// removals.
func pickOperation(rng *rand.Rand, imageAcked bool, listed []ctr, image string) (string, []string) {
	if !imageAcked {
		return "load", []string{"load", "-i", image}
	}
	// The network: bridge (the default), bridge with a published port, or
	// none (quicker: more runs finish before their kill).
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
