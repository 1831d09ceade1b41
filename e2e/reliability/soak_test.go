package reliability

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/internal/testenv"
)

// The load and soak figures of issue 12's proof suite.
const (
	parallelRuns = 50  // run --rm at once on one bridge
	parallelRunD = 30  // run -d at once, beside as many rm -f
	soakCycles   = 500 // run -d / stop / rm
	soakWorkers  = 4   // cycles at once (each on its own names)
)

// accounting is what edgerun's containers hold on the host and on disk,
// counted for one env: everything must be back where it was after the
// containers are gone.
type accounting struct {
	Mounts    int // mounts involving the env's directory
	Veths     int // ports of its bridge
	Cgroups   int // /edgerun/<id> directories of its containers, every hierarchy (v1 and v2)
	Leases    int // address and port leases
	NftRules  int // rules in its bridge's table, every chain
	Processes int // edgerun processes of its roots (CLIs and monitors)
	Fds       int // their open file descriptors
	Monitors  int
	RootFiles int   // entries under --root outside the image store
	RootBytes int64 // bytes of the files among them
	StateDirs int   // entries under --state
}

func (a accounting) String() string {
	return fmt.Sprintf("mounts %d, veths %d, cgroups %d, leases %d, nft rules %d, edgerun processes %d (fds %d), monitors %d, "+
		"--root outside the image store %d entries %d bytes, --state %d entries",
		a.Mounts, a.Veths, a.Cgroups, a.Leases, a.NftRules, a.Processes, a.Fds, a.Monitors, a.RootFiles, a.RootBytes, a.StateDirs)
}

// imageStore is what --root holds for images (package image and rootfs):
// not counted, a run may unpack or verify there. network/<bridge>/last is
// the address allocator's cursor: it moves on by design. events/ is the
// event journal, which grows by design up to its bound (journalBytes).
var imageStore = map[string]bool{"blobs": true, "ingest": true, "layers": true, "locks": true, "images.json": true, "events": true}

// journalBytes is the size of the event journal's files under root.
func journalBytes(root string) int64 {
	var n int64
	for _, f := range []string{"events.log", "events.log.1"} {
		if fi, err := os.Stat(filepath.Join(root, "events", f)); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func (e *env) account() accounting {
	t := e.t
	t.Helper()
	var a accounting
	mounts, err := testenv.Live.Mounts(e.base)
	if err != nil {
		t.Fatal(err)
	}
	a.Mounts = len(mounts)
	a.Veths = len(entries(filepath.Join("/sys/class/net", e.bridge, "brif")))
	cgs, err := testenv.Live.Cgroups(e.seenIDs()...)
	if err != nil {
		t.Fatal(err)
	}
	a.Cgroups = len(cgs)
	for _, pat := range []string{"network/*/leases/*", "network/ports/*"} {
		leases, _ := filepath.Glob(filepath.Join(e.root, pat))
		a.Leases += len(leases)
	}
	a.NftRules = nftRules(t, "edgerun_"+e.bridge)
	all, monitors := e.processes()
	a.Processes, a.Monitors = len(all), len(monitors)
	for _, pid := range all {
		a.Fds += len(entries(fmt.Sprintf("/proc/%d/fd", pid)))
	}
	_ = filepath.WalkDir(e.root, func(path string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(e.root, path)
		switch {
		case err != nil || path == e.root:
			return nil
		case imageStore[rel] && d.IsDir():
			return filepath.SkipDir
		case imageStore[rel]:
			return nil
		case filepath.Base(rel) == "last" && strings.HasPrefix(rel, "network/"):
			return nil
		}
		a.RootFiles++
		if fi, err := d.Info(); err == nil && fi.Mode().IsRegular() {
			a.RootBytes += fi.Size()
		}
		return nil
	})
	_ = filepath.WalkDir(e.state, func(path string, d fs.DirEntry, err error) error {
		// <state>/exits keeps the exit code of each --rm container for
		// `wait` for a minute (container/wait.go); the cleanup of every
		// command removes older ones: bounded by time, not by count.
		if err == nil && d.IsDir() && path == filepath.Join(e.state, "exits") {
			return fs.SkipDir
		}
		if err == nil && path != e.state {
			a.StateDirs++
		}
		return nil
	})
	return a
}

// nftRules counts the rules of every chain of an ip table (0 without it).
func nftRules(t *testing.T, table string) int {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ch := range chains {
		if ch.Table.Name != table {
			continue
		}
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil && !errors.Is(err, syscall.ENOENT) {
			t.Fatal(err)
		}
		n += len(rules)
	}
	return n
}

// parallel runs f(0..n-1) at once and waits for all.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); f(i) }()
	}
	wg.Wait()
}

var inet = regexp.MustCompile(`inet (\d+\.\d+\.\d+\.\d+)/`)

// TestLoadAndSoak runs 50 bridge containers at once (each must get its own
// address), 30 run -d at once beside 30 rm -f, and 500 run -d/stop/rm
// cycles; before and after it counts what containers hold (mounts,
// veths, cgroups, leases, nft rules, edgerun processes and their fds,
// monitors, files and bytes under --root outside the image store, entries
// under --state) and requires no change.
func TestLoadAndSoak(t *testing.T) {
	bin := setup(t)
	e := newEnv(t, bin)
	e.loadBusybox()
	// The bridge, its table and the layer cache exist from here on.
	e.must("run", "--rm", "busybox", "true")
	e.must("ps", "-a")
	before := e.account()
	t.Logf("before: %s", before)

	start := time.Now()
	ips := make([]string, parallelRuns)
	parallel(parallelRuns, func(i int) {
		r := e.run("run", "--rm", "busybox", "ip", "-4", "-o", "addr", "show", "eth0")
		if m := inet.FindStringSubmatch(r.stdout); r.code == 0 && m != nil {
			ips[i] = m[1]
		} else {
			t.Errorf("parallel run %d: %s", i, r)
		}
	})
	seen := map[string]int{}
	for i, ip := range ips {
		if j, dup := seen[ip]; dup && ip != "" {
			t.Errorf("parallel runs %d and %d both got %s", j, i, ip)
		}
		seen[ip] = i
	}
	t.Logf("%d parallel run --rm on one bridge: %d unique addresses, in %v", parallelRuns, len(seen), time.Since(start).Round(time.Millisecond))

	start = time.Now()
	first := make([]string, parallelRunD)
	parallel(parallelRunD, func(i int) { first[i] = e.runDParallel(i, "a") })
	second := make([]string, parallelRunD)
	parallel(2*parallelRunD, func(i int) {
		if i < parallelRunD {
			second[i] = e.runDParallel(i, "b")
			return
		}
		e.rmParallel(first[i-parallelRunD])
	})
	parallel(parallelRunD, func(i int) { e.rmParallel(second[i]) })
	t.Logf("%d parallel run -d, then %d more beside %d parallel rm -f, then %d rm -f: in %v",
		parallelRunD, parallelRunD, parallelRunD, parallelRunD, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	var mu sync.Mutex
	var took [3]time.Duration // run -d, stop, rm
	parallel(soakWorkers, func(w int) {
		for i := w; i < soakCycles; i += soakWorkers {
			name := fmt.Sprintf("c%d", i)
			// stop -t 1: a stop that comes before the container's init
			// took its signal handlers waits for SIGKILL (as in docker).
			for j, args := range [][]string{append([]string{"run", "-d", "--name", name}, sleeper...), {"stop", "-t", "1", name}, {"rm", name}} {
				r := e.run(args...)
				if r.code != 0 {
					t.Errorf("cycle %d: %s", i, r)
					return
				}
				mu.Lock()
				took[j] += r.took
				mu.Unlock()
			}
		}
	})
	t.Logf("%d run -d/stop/rm cycles, %d at once: in %v (mean run -d %v, stop %v, rm %v)", soakCycles, soakWorkers,
		time.Since(start).Round(time.Millisecond), (took[0] / soakCycles).Round(time.Millisecond),
		(took[1] / soakCycles).Round(time.Millisecond), (took[2] / soakCycles).Round(time.Millisecond))

	e.must("ps", "-a")
	after := e.account()
	t.Logf("after:  %s", after)
	t.Logf("containers seen: %d", len(e.seenIDs()))
	if after != before {
		t.Errorf("what containers hold changed:\nbefore: %s\nafter:  %s", before, after)
	}
	// About 3,300 events (six a cycle) of ~340 bytes, from many processes
	// at once: the journal stays within its two files.
	if n := journalBytes(e.root); n == 0 || n > 2*events.DefaultMaxSize+events.MaxLine {
		t.Errorf("the event journal holds %d bytes after the soak, want some and at most two files of %d", n, events.DefaultMaxSize)
	}
}

// runDParallel is run -d of a sleeper named prefix-i; "" when it failed.
func (e *env) runDParallel(i int, prefix string) string {
	args := append([]string{"run", "-d", "--name", fmt.Sprintf("%s%d", prefix, i)}, sleeper...)
	r := e.run(args...)
	if r.code != 0 {
		e.t.Errorf("parallel %s", r)
		return ""
	}
	id := strings.TrimSpace(r.stdout)
	e.ackContainer(id, args)
	return id
}

// rmParallel is rm -f of a container run -d started.
func (e *env) rmParallel(id string) {
	if id == "" {
		return
	}
	e.forget(id)
	if r := e.run("rm", "-f", id); r.code != 0 {
		e.t.Errorf("parallel %s", r)
	}
}
