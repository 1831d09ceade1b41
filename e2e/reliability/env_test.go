package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/testenv"
)

// cmdTimeout bounds every edgerun invocation; a hang fails the test.
const cmdTimeout = 90 * time.Second

// suite is what every test shares, set once.
var suite struct {
	tmp string // scratch directory (TestMain)

	binOnce sync.Once
	bin     string
	binErr  error

	checkOnce sync.Once
	hasCheck  bool // the binary has `edgerun check`
}

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "edgerun-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability:", err)
		os.Exit(1)
	}
	suite.tmp = tmp
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// setup skips unless the proof suite was asked for and can run real
// containers; it returns the edgerun binary.
func setup(t *testing.T) string {
	t.Helper()
	testenv.RequireReliabilitySuite(t)
	testenv.RequireRoot(t, "run real containers, bridges and cgroups")
	testenv.RequireImages(t)
	suite.binOnce.Do(func() {
		if suite.bin = os.Getenv("EDGERUN_BIN"); suite.bin != "" {
			return
		}
		suite.bin = filepath.Join(suite.tmp, "edgerun")
		cmd := exec.Command("go", "build", "-tags", "seccomp osusergo netgo", "-o", suite.bin, "../../cmd/edgerun")
		if out, err := cmd.CombinedOutput(); err != nil {
			suite.binErr = fmt.Errorf("build edgerun (EDGERUN_BIN is not set): %w\n%s", err, out)
		}
	})
	if suite.binErr != nil {
		t.Fatal(suite.binErr)
	}
	if _, err := os.Stat(suite.bin); err != nil {
		t.Skipf("edgerun binary %q is missing: run via make test-reliability, or set EDGERUN_BIN", suite.bin)
	}
	return suite.bin
}

// imagePath is the layout directory of a test image (make images).
func imagePath(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(testenv.RequireImages(t), name)
	if _, err := os.Stat(filepath.Join(p, "index.json")); err != nil {
		t.Fatalf("test image %s is missing (%v): run make images", name, err)
	}
	return p
}

// env is one test's private edgerun: its own roots, its own bridge and
// subnet, and what it was told was done (acknowledged).
type env struct {
	t      *testing.T
	bin    string
	base   string // the test's temp dir: the roots and the fault log below it
	root   string
	state  string
	bridge string
	subnet string
	log    string // EDGERUN_FAULT_LOG: which point fired, in which process
	extra  []string

	mu       sync.Mutex
	ids      map[string]bool   // every container ID seen, for the cgroup checks
	ackImage map[string]bool   // image names a load or pull reported done
	ackCtr   map[string]string // containers run -d printed (ID → name), not removed since
}

// newEnv makes a private edgerun and registers the final check: every
// listed container can be removed, and then nothing is left on the host.
func newEnv(t *testing.T, bin string) *env {
	t.Helper()
	base := t.TempDir()
	n := testenv.FreeSubnet(t, 197).Addr().As4()[2]
	e := &env{
		t: t, bin: bin, base: base, root: filepath.Join(base, "root"), state: filepath.Join(base, "state"),
		bridge: fmt.Sprintf("erl%04x%02x", os.Getpid()&0xffff, n),
		subnet: fmt.Sprintf("10.197.%d.0/24", n),
		log:    filepath.Join(base, "fault.log"),
		ids:    map[string]bool{}, ackImage: map[string]bool{}, ackCtr: map[string]string{},
	}
	t.Cleanup(e.teardown)
	return e
}

// result is what one edgerun invocation did.
type result struct {
	args           []string
	stdout, stderr string
	code           int
	killed         bool // ended by SIGKILL
	pid            int
	took           time.Duration
}

func (r result) String() string {
	how := "exit " + strconv.Itoa(r.code)
	if r.killed {
		how = "killed by SIGKILL"
	}
	return fmt.Sprintf("edgerun %s: %s\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), how, r.stdout, r.stderr)
}

// command is edgerun on this env's roots, bridge networking on its bridge,
// with the fault point armed ("" for none).
func (e *env) command(ctx context.Context, point string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"--root", e.root, "--state", e.state}, args...)...)
	cmd.Env = append(os.Environ(), "EDGERUN_ROOT=", "EDGERUN_STATE=", "EDGERUN_NETWORK=bridge",
		"EDGERUN_BRIDGE="+e.bridge, "EDGERUN_SUBNET="+e.subnet, fault.Env+"="+point, fault.LogEnv+"="+e.log)
	cmd.Env = append(cmd.Env, e.extra...)
	// A foreground container that outlives a killed edgerun holds its pipes.
	cmd.WaitDelay = 2 * time.Second
	return cmd
}

// exec runs edgerun; with kill > 0 it sends SIGKILL after that long (if
// the command still runs).
func (e *env) exec(point string, kill time.Duration, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := e.command(ctx, point, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	stop := e.watchIDs()
	defer stop()
	began := time.Now()
	if err := cmd.Start(); err != nil {
		e.t.Fatalf("start edgerun: %v", err)
	}
	if kill > 0 {
		timer := time.AfterFunc(kill, func() { _ = cmd.Process.Signal(unix.SIGKILL) })
		defer timer.Stop()
	}
	err := cmd.Wait()
	if ctx.Err() != nil {
		e.t.Fatalf("edgerun %s: timed out after %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), cmdTimeout, out.String(), errb.String())
	}
	r := result{args: args, stdout: out.String(), stderr: errb.String(), pid: cmd.Process.Pid, took: time.Since(began)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == unix.SIGKILL {
			r.killed = true
		}
	case errors.Is(err, exec.ErrWaitDelay):
		// Exited; a container it left running holds its output.
	default:
		e.t.Fatalf("edgerun %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// run runs edgerun to completion.
func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.exec("", 0, args...)
}

// must runs edgerun and fails the test unless it exits 0.
func (e *env) must(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatal(r)
	}
	return r.stdout
}

// watchIDs records the IDs of containers that appear while a command
// runs, so the cgroup check can look for them even after --rm.
func (e *env) watchIDs() (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			e.collectIDs()
			select {
			case <-done:
				e.collectIDs()
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (e *env) collectIDs() {
	for _, dir := range []string{filepath.Join(e.root, "containers"), filepath.Join(e.state, "libcontainer")} {
		ents, _ := os.ReadDir(dir)
		e.mu.Lock()
		for _, ent := range ents {
			if len(ent.Name()) == 64 {
				e.ids[ent.Name()] = true
			}
		}
		e.mu.Unlock()
	}
}

func (e *env) seenIDs() []string {
	e.collectIDs()
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]string, 0, len(e.ids))
	for id := range e.ids {
		ids = append(ids, id)
	}
	return ids
}

// loadBusybox loads busybox:latest; the load is acknowledged.
func (e *env) loadBusybox() {
	e.t.Helper()
	e.must("load", "-i", imagePath(e.t, "busybox"))
	e.acked("busybox:latest")
}

// acked records an image name a load or pull reported done.
func (e *env) acked(name string) {
	e.mu.Lock()
	e.ackImage[name] = true
	e.mu.Unlock()
}

// runD runs `run -d`; the ID it prints is acknowledged.
func (e *env) runD(args ...string) string {
	e.t.Helper()
	id := strings.TrimSpace(e.must(append([]string{"run", "-d"}, args...)...))
	e.ackContainer(id, args)
	return id
}

func (e *env) ackContainer(id string, args []string) {
	e.t.Helper()
	if len(id) != 64 {
		e.t.Fatalf("run -d %v printed %q, want a container ID", args, id)
	}
	e.mu.Lock()
	e.ackCtr[id] = strings.Join(args, " ")
	e.ids[id] = true
	e.mu.Unlock()
}

// forget drops a container from the acknowledged ones: something asked
// for its removal.
func (e *env) forget(ref string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, args := range e.ackCtr {
		if strings.HasPrefix(id, ref) || strings.Contains(" "+args+" ", " --name "+ref+" ") {
			delete(e.ackCtr, id)
		}
	}
}

// sleeper runs until stopped. edgerun's --init is PID 1 and passes the
// stop signal on to sleep; a shell as PID 1 would ignore a SIGTERM that
// came before its trap was set (then stop waits its 10 s for SIGKILL).
var sleeper = []string{"--init", "busybox", "sleep", "1000"}

// ctr is the part of a container (inspect, ps --format json) the
// reliability tests read.
type ctr struct {
	ID         string
	Name       string
	State      string
	Pid        int
	MonitorPid int
}

// containers lists the containers (ps -a --no-trunc --format json: one
// object per line, docker's fields).
func (e *env) containers() ([]ctr, result) {
	e.t.Helper()
	r := e.run("ps", "-a", "--no-trunc", "--format", "json")
	var cs []ctr
	if r.code == 0 {
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		for {
			var p struct{ ID, Names, State string }
			if err := dec.Decode(&p); err == io.EOF {
				break
			} else if err != nil {
				e.t.Errorf("ps -a --format json printed %q: %v", r.stdout, err)
				break
			}
			cs = append(cs, ctr{ID: p.ID, Name: p.Names, State: p.State})
		}
	}
	for _, c := range cs {
		e.mu.Lock()
		e.ids[c.ID] = true
		e.mu.Unlock()
	}
	return cs, r
}

// inspect returns a container's record; ok is false when there is none.
func (e *env) inspect(name string) (ctr, bool) {
	e.t.Helper()
	r := e.run("inspect", name)
	var ds []struct {
		ID    string `json:"Id"`
		Name  string
		State struct {
			Status string
			Pid    int
		}
		Edgerun struct{ MonitorPid int }
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ds) != nil || len(ds) != 1 {
		return ctr{}, false
	}
	d := ds[0]
	return ctr{ID: d.ID, Name: strings.TrimPrefix(d.Name, "/"), State: d.State.Status, Pid: d.State.Pid,
		MonitorPid: d.Edgerun.MonitorPid}, true
}

// waitState polls until the container is in state (bounded by cmdTimeout).
func (e *env) waitState(name, state string) ctr {
	e.t.Helper()
	deadline := time.Now().Add(cmdTimeout)
	for {
		c, ok := e.inspect(name)
		if ok && c.State == state && (state != "running" || c.MonitorPid == 0 || alive(c.MonitorPid)) {
			return c
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("container %s: waited for state %s; last record %+v (found %v)", name, state, c, ok)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeName is name when no container has it, else name-2, name-3...: a
// retried run whose first attempt left its container keeps the name taken.
// The suite's names are never hex: inspect takes a hex name as an ID prefix
// too.
func (e *env) freeName(name string) string {
	e.t.Helper()
	for i := 2; ; i++ {
		if _, ok := e.inspect(name); !ok {
			return name
		}
		name = strings.TrimSuffix(name, "-"+strconv.Itoa(i-1)) + "-" + strconv.Itoa(i)
	}
}
