package e2e

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// service is a sensor web service under test: `run -d` with a published
// port and a quick health check, on the test's own bridge.
type service struct {
	n    *netEnv
	port int
}

func newService(t *testing.T) *service {
	n := newNetEnv(t)
	n.must("load", "-i", imagePath(t, "sensor"))
	n.must("load", "-i", imagePath(t, "sensor-unhealthy"))
	n.must("load", "-i", imagePath(t, "sensor-v2"))
	n.loadBusybox()
	s := &service{n: n, port: freePort(t)}
	if r := n.run("run", "-d", "--name", "svc", "--network", "bridge", "-p", fmt.Sprintf("%d:8080", s.port),
		"--health-interval", "200ms", "--health-start-interval", "200ms", "--health-retries", "2",
		"--health-start-period", "1s", "--restart", "always", "sensor", "serve"); r.code != 0 {
		t.Fatalf("run the service: %s", r)
	}
	n.waitHealth("svc", "healthy", status("healthy"))
	return s
}

func (s *service) url() string { return fmt.Sprintf("http://127.0.0.1:%d/reading", s.port) }

// answers says whether the service answers on its published port.
func (s *service) answers() bool {
	_, err := getReading(s.url())
	return err == nil
}

// hammer asks the published port for a reading every 10 ms until the
// returned function is called, which returns how many asks failed.
func (s *service) hammer() (stop func() (ok, failed int)) {
	var okN, failN atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c := http.Client{Timeout: 2 * time.Second}
		for {
			select {
			case <-done:
				return
			default:
			}
			resp, err := c.Get(s.url())
			var ne net.Error
			switch {
			case err == nil && resp.StatusCode == http.StatusOK:
				okN.Add(1)
			case errors.As(err, &ne) && ne.Timeout():
				// Slowness (a loaded machine, a VM), not a gap: a request
				// that reached nobody is refused or reset at once.
			default:
				failN.Add(1)
			}
			if resp != nil {
				resp.Body.Close()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return func() (int, int) { close(done); wg.Wait(); return int(okN.Load()), int(failN.Load()) }
}

// one returns the only container of the env, failing unless there is
// exactly one.
func (s *service) one(t *testing.T) healthRecord {
	t.Helper()
	ids := strings.Fields(s.n.must("ps", "-aq"))
	if len(ids) != 1 {
		t.Fatalf("want exactly one container, got %d:\n%s", len(ids), s.n.must("ps", "-a"))
	}
	return s.n.inspectHealth(ids[0])
}

func TestUpdateToABrokenImageRollsBackAndTheServiceKeepsAnswering(t *testing.T) {
	t.Parallel()
	s := newService(t)
	before := s.one(t)
	for _, tt := range []struct{ image, why string }{
		{"sensor:unhealthy", ": the replacement is unhealthy: the check exited 1: "}, // never becomes healthy
		{"busybox", ": the replacement did not start"},                               // its command does not exist: exits at once
	} {
		stop := s.hammer()
		r := s.n.run("update", "--image", tt.image, "--pull", "never", "svc")
		ok, failed := stop()
		// docs/cli.md's message, whole up to the reason's details
		if r.code != 1 || !strings.HasPrefix(withoutNotes(r.stderr), "edgerun: update rolled back: svc still runs sensor"+tt.why) {
			t.Errorf("update to %s: %s, want exit 1, rolled back, %q", tt.image, r, tt.why)
		}
		if failed != 0 || ok == 0 {
			t.Errorf("update to %s: the service failed %d of %d asks during the update, want none", tt.image, failed, ok+failed)
		}
		after := s.one(t)
		if after.ID != before.ID || after.State != "running" || !s.answers() {
			t.Errorf("after the rollback: %+v, want the old container %s running and answering", after.lifeRecord, before.ID)
		}
		var rec struct {
			Edgerun struct {
				Update struct{ Image, Outcome, Reason string }
			}
		}
		s.n.inspectInto("svc", &rec)
		if u := rec.Edgerun.Update; u.Outcome != "rolled back" || u.Image != tt.image || !strings.Contains(u.Reason, strings.TrimPrefix(tt.why, ": ")) {
			t.Errorf("inspect's update after the rollback: %+v", u)
		}
	}
	if left := entries(filepath.Join(s.n.root, "updates")); len(left) != 0 {
		t.Errorf("update journals left: %v", left)
	}
}

func TestUpdateMovesThePortAndTheNameWithoutAGapAndKeepsVolumes(t *testing.T) {
	t.Parallel()
	s := newService(t)
	old := s.one(t)
	stop := s.hammer()
	r := s.n.run("update", "--image", "sensor:v2", "--pull", "never", "svc")
	ok, failed := stop()
	if r.code != 0 || !strings.Contains(r.stdout, "svc: updated") {
		t.Fatalf("update: %s", r)
	}
	if failed != 0 || ok == 0 {
		t.Errorf("the service failed %d of %d asks during the update, want none", failed, ok+failed)
	}
	cur := s.one(t)
	if cur.ID == old.ID || cur.Name != "svc" || cur.Image != "sensor:v2" || cur.State != "running" || !s.answers() {
		t.Errorf("after the update: %+v, want a new container named svc of sensor:v2, answering", cur.lifeRecord)
	}
	if ps := s.n.must("ps"); !strings.Contains(ps, fmt.Sprintf("0.0.0.0:%d->8080/tcp", s.port)) {
		t.Errorf("ps does not show the port on the new container:\n%s", ps)
	}
	// The same image again changes nothing; a second update works on the
	// replacement's own saved options (its port, its name).
	if r := s.n.run("update", "--image", "sensor:v2", "--pull", "never", "svc"); r.code != 0 || r.stdout != "svc: already runs that image (use --force to replace it anyway)\n" {
		t.Errorf("update to the same image: %s", r)
	}
	if r := s.n.run("update", "--image", "sensor", "--pull", "never", "svc"); r.code != 0 || !s.answers() {
		t.Errorf("a second update: %s", r)
	}
	if r := s.n.run("update", "--image", "sensor", "--pull", "never", "nosuch"); r.code == 0 || !strings.Contains(r.stderr, "no such container") {
		t.Errorf("update of a missing container: %s", r)
	}
	// A named volume is the replacement's too.
	s.n.runD("--name", "vol", "-v", "data:/data", "busybox", "sh", "-c", `echo run >> /data/x; `+termable)
	if r := s.n.run("update", "--image", "busybox", "--force", "--update-wait", "300ms", "--pull", "never", "vol"); r.code != 0 {
		t.Fatalf("update of a container with a volume: %s", r)
	}
	s.n.waitFor("vol", "running", func(l lifeRecord) bool { return l.State == "running" })
	if got := s.n.must("exec", "vol", "cat", "/data/x"); got != "run\nrun\n" {
		t.Errorf("the volume after the update holds %q, want the line of each run", got)
	}
	s.n.must("rm", "-f", "vol")
	s.n.must("volume", "rm", "data")
}

func TestUpdateWithAFixedAddressStopsFirstAndRollsBackByStartingTheOldOne(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.loadBusybox()
	ip := strings.TrimSuffix(n.subnet, "0/24") + "50"
	if r := n.run("run", "-d", "--name", "fixed", "--network", "bridge", "--ip", ip, "busybox", "sh", "-c", termable); r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	old := n.inspectLife("fixed")
	r := n.run("update", "--image", "busybox", "--force", "--update-wait", "300ms", "--format", "json", "fixed")
	if r.code != 0 || !strings.Contains(r.stdout, `"stopFirst": true`) || !strings.Contains(r.stdout, `"outcome": "updated"`) {
		t.Fatalf("update of a container with --ip: %s, want it updated, stopping the old one first", r)
	}
	cur := n.inspectLife("fixed")
	if cur.ID == old.ID || cur.State != "running" {
		t.Errorf("after the update: %+v", cur)
	}
	// A replacement that cannot start: the old container runs again.
	n.must("load", "-i", imagePath(t, "sensor"))
	r = n.run("update", "--image", "sensor", "--pull", "never", "fixed")
	if r.code != 1 || !strings.Contains(r.stderr, "rolled back") {
		t.Fatalf("update to an image that cannot run the command: %s", r)
	}
	if back := n.inspectLife("fixed"); back.ID != cur.ID || back.State != "running" {
		t.Errorf("after the rollback: %+v, want %s running again", back, cur.ID)
	}
	n.must("rm", "-f", "fixed")
}

func TestUpdateKilledAtEachStepIsFinishedOrRolledBackByBoot(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		point string
		image string // the image expected to serve afterwards
		to    string
	}{
		{"update/after-journal", "sensor", "sensor:v2"},
		{"update/after-create", "sensor", "sensor:v2"},
		{"update/after-healthy", "sensor", "sensor:v2"},
		{"update/after-switch", "sensor:v2", "sensor:v2"},
		{"update/after-remove-old", "sensor:v2", "sensor:v2"},
		{"update/after-rename", "sensor:v2", "sensor:v2"},
		{"update/after-rollback-remove", "sensor", "sensor:unhealthy"},
	} {
		t.Run(strings.ReplaceAll(tt.point, "/", "-"), func(t *testing.T) {
			t.Parallel()
			s := newService(t)
			log := filepath.Join(s.n.base, "fault.log")
			s.n.extraEnv = []string{"EDGERUN_FAULT=" + tt.point, "EDGERUN_FAULT_LOG=" + log}
			r := s.n.run("update", "--image", tt.to, "--pull", "never", "svc")
			s.n.extraEnv = nil
			if b, _ := os.ReadFile(log); !strings.Contains(string(b), tt.point) {
				t.Fatalf("the fault point did not fire: %s", r)
			}
			if r := s.n.run("boot"); r.code != 0 {
				t.Fatalf("boot after the kill: %s", r)
			}
			cur := s.one(t)
			if cur.Name != "svc" || cur.Image != tt.image || cur.State != "running" || !s.answers() {
				t.Errorf("after kill and boot: %+v, want svc of %s running and answering", cur.lifeRecord, tt.image)
			}
			if left := entries(filepath.Join(s.n.root, "updates")); len(left) != 0 {
				t.Errorf("update journals left: %v", left)
			}
		})
	}
}
