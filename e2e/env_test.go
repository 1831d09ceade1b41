package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

// cmdTimeout bounds every edgerun invocation; a hang fails the test. In the
// VM matrix (TCG, four VMs on two CPUs) TestParallelDetachedRunsAndRemovals'
// 20 parallel run -d took up to 118 s in all, and failed at 90 s now and then.
const cmdTimeout = 3 * time.Minute

// env is one test's private edgerun: its own persistent and volatile roots.
type env struct {
	t     *testing.T
	bin   string // the edgerun binary
	base  string // the test's temp dir; root and state live below it
	root  string
	state string

	mu  sync.Mutex
	ids map[string]bool // every container ID seen, for the cgroup check

	extraEnv []string // added to every edgerun's environment

	// netns, when set, is the network namespace every edgerun of this env
	// runs in (a fake host of the test's, see hostns_test.go).
	netns *fakeHost
}

// newEnv makes a private edgerun state and registers the leftover check.
func newEnv(t *testing.T) *env {
	t.Helper()
	bin := requireSetup(t)
	base := t.TempDir()
	e := &env{t: t, bin: bin, base: base, root: filepath.Join(base, "root"), state: filepath.Join(base, "state"), ids: map[string]bool{}}
	// Cleanups run last-in first-out: this runs before TempDir's removal,
	// and detaches leftover mounts so the removal cannot reach the host.
	t.Cleanup(func() { assertClean(t, e) })
	return e
}

// result is what one edgerun invocation did.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

// command returns an edgerun command on this env's roots.
func (e *env) command(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"--root", e.root, "--state", e.state}, args...)
	cmd := exec.CommandContext(ctx, e.bin, full...)
	// Bridge networking (run's default) is tested with its own bridge and
	// subnet per test (network_test.go); other tests run without a network,
	// since a bridge belongs to one edgerun root.
	cmd.Env = append(os.Environ(), "EDGERUN_ROOT=", "EDGERUN_STATE=", "EDGERUN_NETWORK=none")
	cmd.Env = append(cmd.Env, e.extraEnv...)
	return cmd
}

// startCmd starts cmd, in the env's network namespace when it has one.
func (e *env) startCmd(cmd *exec.Cmd) error {
	if e.netns == nil {
		return cmd.Start()
	}
	return e.netns.host(cmd.Start)
}

// run runs edgerun to completion and returns its output and exit code.
func (e *env) run(args ...string) result {
	return e.runIn(nil, args...)
}

// runIn is run with stdin.
func (e *env) runIn(stdin []byte, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := e.command(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	stop := e.watchIDs()
	err := e.startCmd(cmd)
	if err == nil {
		err = cmd.Wait()
	}
	stop()
	if ctx.Err() != nil {
		e.t.Fatalf("edgerun %s: timed out after %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), cmdTimeout, out.String(), errb.String())
	}
	return result{stdout: out.String(), stderr: errb.String(), code: exitCode(e.t, err)}
}

// must runs edgerun and fails the test unless it exits 0.
func (e *env) must(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("edgerun %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("start edgerun: %v", err)
	return -1
}

// watchIDs records the IDs of containers that appear while a command runs,
// so the cleanup check can look for their cgroups even after --rm.
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

// loadBusybox loads the busybox test image (busybox:latest).
func (e *env) loadBusybox() {
	e.t.Helper()
	e.must("load", "-i", imagePath(e.t, "busybox"))
}

// record is the part of inspect's document the tests read most.
type record struct {
	ID        string
	Name      string
	Image     string // the name it was run with
	State     string
	Pid       int
	ExitCode  int
	OOMKilled bool
}

// inspectDoc is the part of inspect's document (docs/cli.md) the tests
// read, in docker's shape.
type inspectDoc struct {
	ID     string `json:"Id"`
	Name   string
	Config struct {
		Image       string
		Healthcheck *struct{ Test []string }
	}
	State struct {
		Status    string
		Pid       int
		ExitCode  int
		OOMKilled bool
		Error     string
		StartedAt time.Time
		Health    *healthState
	}
	RestartCount int
	Edgerun      struct {
		InspectVersion  int
		MonitorPid      int
		StoppedByUser   bool
		MonitorLost     bool
		HostRestarted   bool
		Detached        bool
		HealthRestart   bool
		HealthOnFailure string
		RestartDelay    time.Duration
	}
}

// healthState is inspect's State.Health.
type healthState struct {
	Status        string
	FailingStreak int
	Log           []struct {
		Start    time.Time
		End      time.Time
		ExitCode int
		Output   string
	}
}

func (d *inspectDoc) record() record {
	return record{ID: d.ID, Name: strings.TrimPrefix(d.Name, "/"), Image: d.Config.Image, State: d.State.Status,
		Pid: d.State.Pid, ExitCode: d.State.ExitCode, OOMKilled: d.State.OOMKilled}
}

// inspectDoc returns inspect's document of one container.
func (e *env) inspectDoc(name string) inspectDoc {
	e.t.Helper()
	var docs []inspectDoc
	out := e.must("inspect", name)
	if err := json.Unmarshal([]byte(out), &docs); err != nil || len(docs) != 1 {
		e.t.Fatalf("inspect %s: want one document, got %q (%v)", name, out, err)
	}
	if docs[0].Edgerun.InspectVersion != 1 {
		e.t.Fatalf("inspect %s: InspectVersion %d, want 1", name, docs[0].Edgerun.InspectVersion)
	}
	e.noteID(docs[0].ID)
	return docs[0]
}

// inspect returns the record of one container.
func (e *env) inspect(name string) record {
	e.t.Helper()
	d := e.inspectDoc(name)
	return d.record()
}

func (e *env) noteID(id string) {
	e.mu.Lock()
	e.ids[id] = true
	e.mu.Unlock()
}

// background is an edgerun command running while the test acts on it.
type background struct {
	cmd    *exec.Cmd
	cancel context.CancelFunc
	stdout *bufio.Reader
	stderr bytes.Buffer
	stop   func()
	done   chan struct{}
	err    error
}

// start starts edgerun without waiting; stdout is read through b.stdout.
func (e *env) start(args ...string) *background {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	b := &background{cmd: e.command(ctx, args...), cancel: cancel, done: make(chan struct{})}
	pipe, err := b.cmd.StdoutPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	b.stdout = bufio.NewReader(pipe)
	b.cmd.Stderr = &b.stderr
	// A container that outlives edgerun holds the pipes: do not wait for it.
	b.cmd.WaitDelay = 2 * time.Second
	b.stop = e.watchIDs()
	if err := e.startCmd(b.cmd); err != nil {
		b.stop()
		e.t.Fatal(err)
	}
	go func() { b.err = b.cmd.Wait(); b.stop(); close(b.done) }()
	e.t.Cleanup(func() {
		// A failed test must not leave edgerun running.
		_ = b.cmd.Process.Kill()
		<-b.done
		cancel()
	})
	return b
}

// waitLine reads stdout until a line equal to want, and fails otherwise.
func (b *background) waitLine(t *testing.T, want string) {
	t.Helper()
	got := make(chan error, 1)
	go func() {
		for {
			line, err := b.stdout.ReadString('\n')
			if strings.TrimSpace(line) == want {
				got <- nil
				return
			}
			if err != nil {
				got <- err
				return
			}
		}
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("waiting for %q on stdout: %v; stderr: %s", want, err, b.stderr.String())
		}
	case <-time.After(cmdTimeout):
		t.Fatalf("waiting for %q on stdout: timed out", want)
	}
}

// wait waits for the command to end and returns its exit code and the rest
// of stdout.
func (b *background) wait(t *testing.T) (int, string) {
	t.Helper()
	rest, _ := readAll(b.stdout)
	<-b.done
	return exitCode(t, b.err), rest
}

func readAll(r *bufio.Reader) (string, error) {
	b, err := io.ReadAll(r)
	return string(b), err
}

// assertClean checks that the test left nothing: no mount under its
// directory, no cgroup of its containers, no container state.
func assertClean(t *testing.T, e *env) {
	t.Helper()
	e.collectIDs()
	testenv.AssertNoMountsUnder(t, e.base)
	defer tidy(t, e)
	if pids := e.monitors(); len(pids) > 0 {
		t.Errorf("leftover container monitors (pids %v) of %s", pids, e.state)
	}
	e.mu.Lock()
	ids := make([]string, 0, len(e.ids))
	for id := range e.ids {
		ids = append(ids, id)
	}
	e.mu.Unlock()
	testenv.AssertNoCgroups(t, ids...)
	for _, dir := range []string{
		filepath.Join(e.root, "containers"), filepath.Join(e.root, "names"), filepath.Join(e.state, "libcontainer"),
		filepath.Join(e.state, "locks"), filepath.Join(e.state, "health"),
	} {
		if left := entries(dir); len(left) > 0 {
			t.Errorf("leftover container state in %s: %s", dir, strings.Join(left, ", "))
		}
	}
}

// tidy removes what a failed test left, so one failure does not leave
// cgroups and mounts on the host: rm -f of every container, then a lazy
// unmount of what remains under the test's directory (before TempDir's
// removal could walk into a bind mount of a host path).
func tidy(t *testing.T, e *env) {
	if !t.Failed() {
		return
	}
	for _, id := range entries(filepath.Join(e.root, "containers")) {
		_ = e.command(context.Background(), "rm", "-f", id).Run()
	}
	for _, pid := range e.monitors() {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	unmountUnder(e.base)
}

// mountsUnder returns the mounts on the host that involve dir: at or
// below it, or made from a path below it. In the rootless tier the host is
// the user's session, where rootless edgerun mounts (testenv.Checked).
func mountsUnder(t *testing.T, dir string) []testenv.Mount {
	t.Helper()
	mnts, err := testenv.Checked().Mounts(dir)
	if err != nil {
		t.Error(err)
	}
	return mnts
}

// unmountUnder detaches the mounts that involve dir, innermost first, as
// a reboot would (and so that removing dir cannot reach into the host).
func unmountUnder(dir string) {
	mnts, _ := testenv.Live.Mounts(dir)
	for i := len(mnts) - 1; i >= 0; i-- {
		_ = unix.Unmount(mnts[i].Point, unix.MNT_DETACH)
	}
}

// entries lists a directory's entries, nil when it does not exist.
func entries(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, ent := range ents {
		names = append(names, ent.Name())
	}
	return names
}

// withoutNotes is stderr without edgerun's notes (rootless without
// subordinate IDs, for one, says how it runs an image's USER).
func withoutNotes(stderr string) string {
	var keep []string
	for _, l := range strings.SplitAfter(stderr, "\n") {
		if !strings.HasPrefix(l, "edgerun: note: ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}
