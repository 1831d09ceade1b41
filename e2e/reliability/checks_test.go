package reliability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

// checkState is what must hold after edgerun died anywhere, once the next
// commands ran (ps -a, and images: ps never opens the image store, whose
// leftovers the next command that does removes): they work and quarantine
// nothing (a kill never damages a record); every acknowledged image and
// container is still there; no image is named without its blobs and
// layers; and `edgerun check`, when the binary has it, finds nothing to
// repair.
func (e *env) checkState(when string) {
	e.t.Helper()
	e.quickCheck(when)
	e.checkRepairs(when)
}

// quickCheck is checkState without `edgerun check`.
func (e *env) quickCheck(when string) {
	e.t.Helper()
	cs, r := e.containers()
	if r.code != 0 {
		e.t.Errorf("%s: the next command failed: %s", when, r)
		return
	}
	if strings.Contains(r.stderr, "quarantine") {
		e.t.Errorf("%s: the next command quarantined a container: %s", when, r)
	}
	listed := map[string]bool{}
	for _, c := range cs {
		listed[c.ID] = true
	}
	e.mu.Lock()
	for id, args := range e.ackCtr {
		if !listed[id] {
			e.t.Errorf("%s: container %.12s (run -d %s) was acknowledged and is gone", when, id, args)
		}
	}
	names := make([]string, 0, len(e.ackImage))
	for n := range e.ackImage {
		names = append(names, n)
	}
	e.mu.Unlock()
	ri := e.run("images")
	if ri.code != 0 {
		e.t.Errorf("%s: the next image command failed: %s", when, ri)
	}
	for _, n := range names {
		if !strings.Contains(ri.stdout, strings.TrimSuffix(n, ":latest")) {
			e.t.Errorf("%s: image %s was acknowledged and is not listed:\n%s", when, n, ri.stdout)
		}
	}
	for _, p := range e.storeProblems() {
		e.t.Errorf("%s: %s", when, p)
	}
}

// settle waits (at most cmdTimeout) until what a killed command set going
// has finished: no edgerun CLI of the env runs, and each of its monitors
// owns a container recorded running (with processes) or restarting. A
// monitor still recording an exit, or finishing a removal, owns its
// container; the next command rightly leaves that container alone, and
// check would find what the monitor is about to clean up.
func (e *env) settle() {
	e.t.Helper()
	deadline := time.Now().Add(cmdTimeout)
	for quiet := 0; quiet < 3; {
		busy := e.busy()
		if quiet++; len(busy) > 0 {
			quiet = 0
		}
		if time.Now().After(deadline) {
			e.t.Errorf("edgerun processes of the env did not settle: %s", strings.Join(busy, "; "))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// busy describes the env's edgerun processes that are not (yet) at rest.
// A process between two programs (a monitor re-executing itself) shows
// an empty command line for an instant: it is found by the lock files it
// holds open.
func (e *env) busy() []string {
	all, monitors := e.processes()
	var busy []string
	for _, pid := range all {
		if !slices.Contains(monitors, pid) {
			busy = append(busy, fmt.Sprintf("edgerun process %d", pid))
		}
	}
	for pid, files := range e.lockFilesOpen() {
		if !slices.Contains(all, pid) {
			busy = append(busy, fmt.Sprintf("process %d with %v open", pid, files))
		}
	}
	for _, pid := range monitors {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		args := strings.Split(string(b), "\x00")
		if len(args) < 5 {
			continue
		}
		id := args[4]
		var rec struct{ State string }
		rb, err := os.ReadFile(filepath.Join(e.root, "containers", id, "record.json"))
		if err == nil {
			err = json.Unmarshal(rb, &rec)
		}
		switch {
		case err != nil:
			busy = append(busy, fmt.Sprintf("monitor %d of %.12s, which has no record", pid, id))
		case rec.State == "running" && !cgroupPopulated(id):
			busy = append(busy, fmt.Sprintf("monitor %d of %.12s, recorded running without processes", pid, id))
		case rec.State != "running" && rec.State != "restarting":
			busy = append(busy, fmt.Sprintf("monitor %d of %.12s, recorded %s", pid, id, rec.State))
		}
	}
	return busy
}

// cgroupPopulated says whether container id's cgroup holds processes.
func cgroupPopulated(id string) bool {
	dirs, _ := testenv.Live.Cgroups(id)
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return true
		}
	}
	return false
}

// checkRepairs runs `edgerun check` when the binary has it (another branch
// adds it): after the next command, nothing may be left to repair but
// what the operation leaves by design for its retry (pending: check's
// finding kinds), and that must be reported.
func (e *env) checkRepairs(when string, pending ...string) {
	e.t.Helper()
	suite.checkOnce.Do(func() {
		r := e.run("check", "--help")
		suite.hasCheck = r.code == 0 && strings.Contains(r.stdout+r.stderr, "check")
	})
	if !suite.hasCheck {
		return
	}
	if len(pending) == 0 {
		if r := e.run("check"); r.code != 0 {
			e.t.Errorf("%s: edgerun check finds something to repair: %s\nlock files held: %v", when, r, e.lockHolders())
		}
		return
	}
	r := e.run("check", "--format", "json")
	var found []struct{ Kind, Where, Problem string }
	if err := json.Unmarshal([]byte(r.stdout), &found); err != nil {
		e.t.Errorf("%s: check --format json: %v: %s", when, err, r)
		return
	}
	seen := map[string]bool{}
	for _, f := range found {
		seen[f.Kind] = true
		if !slices.Contains(pending, f.Kind) {
			e.t.Errorf("%s: edgerun check finds something to repair: %+v\n%s", when, f, r)
		}
	}
	for _, k := range pending {
		if !seen[k] {
			e.t.Errorf("%s: edgerun check does not report the %s left for the retry: %s", when, k, r)
		}
	}
}

// storeProblems reads the image store on disk: every image images.json
// lists must have its manifest, config and layer blobs, and every layer
// unpacked and complete. A crash may leave blobs without a name, never a
// name without its blobs.
func (e *env) storeProblems() []string {
	b, err := os.ReadFile(filepath.Join(e.root, "images.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return []string{err.Error()}
	}
	var ix struct {
		Images map[string]struct {
			Names []string `json:"names"`
		} `json:"images"`
	}
	if err := json.Unmarshal(b, &ix); err != nil {
		return []string{fmt.Sprintf("images.json is not valid JSON: %v: %q", err, b)}
	}
	var probs []string
	blob := func(d string) ([]byte, error) {
		return os.ReadFile(filepath.Join(e.root, "blobs", "sha256", strings.TrimPrefix(d, "sha256:")))
	}
	for d, img := range ix.Images {
		missing := func(what string, err error) {
			probs = append(probs, fmt.Sprintf("image %v (%.19s) is listed without its %s: %v", img.Names, d, what, err))
		}
		mb, err := blob(d)
		if err != nil {
			missing("manifest", err)
			continue
		}
		var m struct {
			Config struct{ Digest string }   `json:"config"`
			Layers []struct{ Digest string } `json:"layers"`
		}
		if err := json.Unmarshal(mb, &m); err != nil {
			missing("readable manifest", err)
			continue
		}
		for _, l := range m.Layers {
			if _, err := blob(l.Digest); err != nil {
				missing("layer blob "+l.Digest, err)
			}
		}
		cb, err := blob(m.Config.Digest)
		if err != nil {
			missing("config", err)
			continue
		}
		var c struct {
			RootFS struct {
				DiffIDs []string `json:"diff_ids"`
			} `json:"rootfs"`
		}
		if err := json.Unmarshal(cb, &c); err != nil {
			missing("readable config", err)
			continue
		}
		for _, d := range c.RootFS.DiffIDs {
			if _, err := os.Stat(filepath.Join(e.root, "layers", "sha256", strings.TrimPrefix(d, "sha256:"), "complete")); err != nil {
				missing("unpacked layer "+d, err)
			}
		}
	}
	return probs
}

// teardown proves the end of every test: each container listed can be
// removed (rm -f), prune, image prune and network prune work, and then nothing of the
// env is left on the host: no mount under its directory, no cgroup of a
// container it saw, no veth, lease, netns file or DNAT rule, no monitor or
// other edgerun process, no container state, nothing quarantined.
func (e *env) teardown() {
	t := e.t
	if _, err := os.Stat(e.root); err != nil {
		return // the test never got to run edgerun
	}
	defer e.tidy()
	cs, r := e.containers()
	if r.code != 0 {
		t.Errorf("teardown: ps -a: %s", r)
	}
	for _, c := range cs {
		if r := e.run("rm", "-f", c.ID); r.code != 0 {
			t.Errorf("container %.12s (%s, %s) is listed but cannot be removed: %s", c.ID, c.Name, c.State, r)
		}
	}
	for _, args := range [][]string{{"prune"}, {"image", "prune"}} {
		if r := e.run(args...); r.code != 0 {
			t.Errorf("teardown: %s", r)
		}
	}
	if left := strings.Fields(e.must("ps", "-aq")); len(left) > 0 {
		t.Errorf("containers listed after rm -f of every one and prune: %v", left)
	}
	for _, p := range e.leftovers() {
		t.Error(p)
	}
	if _, err := os.Stat(filepath.Join("/sys/class/net", e.bridge)); err == nil {
		if r := e.run("network", "prune"); r.code != 0 {
			t.Errorf("teardown: network prune: %s", r)
		}
	}
}

// leftovers lists what is left of the env's containers on the host, with
// every container removed.
func (e *env) leftovers() []string {
	var left []string
	rec := &recorder{TB: e.t}
	testenv.AssertNoMountsUnder(rec, e.base)
	testenv.AssertNoCgroups(rec, e.seenIDs()...)
	testenv.AssertNoNetwork(rec, testenv.Network{Bridge: e.bridge, Root: e.root, State: e.state})
	left = append(left, rec.errs...)
	all, monitors := e.processes()
	if len(monitors) > 0 {
		left = append(left, fmt.Sprintf("monitors left: pids %v", monitors))
	}
	if len(all) > len(monitors) {
		left = append(left, fmt.Sprintf("edgerun processes left: pids %v", all))
	}
	if tmps := tempFiles(e.root); len(tmps) > 0 {
		left = append(left, "temp files of interrupted atomic writes left: "+strings.Join(tmps, ", "))
	}
	for _, dir := range []string{
		filepath.Join(e.root, "containers"), filepath.Join(e.root, "names"), filepath.Join(e.root, "quarantine"),
		filepath.Join(e.state, "libcontainer"), filepath.Join(e.state, "locks"),
	} {
		ents := slices.DeleteFunc(entries(dir), func(name string) bool { return youngEmptyClaim(filepath.Join(dir, name)) })
		if len(ents) > 0 {
			left = append(left, fmt.Sprintf("container state left in %s: %s", dir, strings.Join(ents, ", ")))
		}
	}
	return left
}

// tidy removes what a failed test left, so one failure does not leave
// monitors and mounts on the host.
func (e *env) tidy() {
	if !e.t.Failed() {
		return
	}
	for _, id := range entries(filepath.Join(e.root, "containers")) {
		_ = e.command(context.Background(), "", "rm", "-f", id).Run()
	}
	_, monitors := e.processes()
	for _, pid := range monitors {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	unmountUnder(e.base)
	_ = e.command(context.Background(), "", "network", "prune").Run()
}

// recorder is a testing.TB that collects what an assertion reports.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper()           {}
func (r *recorder) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// atomicTemp is the name of internal/atomicfile's temp files.
var atomicTemp = regexp.MustCompile(`^\..+\.tmp-[0-9]+$`)

// tempFiles lists the temp files of atomic writes under dir: a write
// interrupted by a crash leaves one, which the next command must remove.
func tempFiles(dir string) []string {
	var found []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && atomicTemp.MatchString(d.Name()) {
			found = append(found, path)
		}
		return nil
	})
	return found
}

// youngEmptyClaim says whether p is the temp file of a name claim killed
// before it got its container's ID, made less than a minute ago. Its
// creator cannot be told from a live one's, so cleanup and check take it
// only once it is a minute old (container/reap.go, removeStaleNames):
// by design not a leftover yet.
func youngEmptyClaim(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && strings.HasPrefix(filepath.Base(p), ".claim-") && fi.Size() == 0 && time.Since(fi.ModTime()) < time.Minute
}
