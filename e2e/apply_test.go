package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFile writes a service file into the test's directory and returns
// its path.
func (e *env) writeFile(name, content string) string {
	e.t.Helper()
	dir := filepath.Join(e.base, "project")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// threeServices: db becomes healthy after a second; web (the sensor,
// published) waits for db to be healthy; worker waits for web to start.
func threeServices(port int, workerCmd string) string {
	return fmt.Sprintf(`name: plant
services:
  db:
    image: busybox
    command: ['sh', '-c', 'sleep 1; touch /tmp/ready; %[3]s']
    network_mode: none
    healthcheck:
      test: ["CMD", "test", "-e", "/tmp/ready"]
      interval: 200ms
      start_interval: 200ms
      start_period: 10s
      retries: 2
  web:
    image: sensor
    command: serve
    ports: ["%[1]d:8080"]
    restart: always
    depends_on:
      db:
        condition: service_healthy
    healthcheck:
      interval: 200ms
      start_interval: 200ms
      start_period: 1s
  worker:
    image: busybox
    command: ['sh', '-c', '%[2]s']
    network_mode: none
    depends_on: [web]
    stop_grace_period: 1s
`, port, workerCmd, termable)
}

func TestApplyCreatesInOrderThenDoesNothingThenUpdatesOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.loadBusybox()
	n.must("load", "-i", imagePath(t, "sensor"))
	port := freePort(t)
	file := n.writeFile("services.yaml", threeServices(port, termable))

	if r := n.run("apply", "-f", file, "--dry-run", "--format", "json"); r.code != 0 || strings.Count(r.stdout, `"action": "create"`) != 3 {
		t.Fatalf("dry run: %s, want three creates", r)
	}
	if ids := strings.Fields(n.must("ps", "-aq")); len(ids) != 0 {
		t.Fatalf("the dry run made containers: %v", ids)
	}
	if r := n.run("apply", "-f", file); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	db, web, worker := n.inspectHealth("db"), n.inspectHealth("web"), n.inspectHealth("worker")
	for _, c := range []healthRecord{db, web, worker} {
		if c.State != "running" {
			t.Errorf("%s: %s, want running", c.Name, c.State)
		}
	}
	if firstHealthy(t, db).After(web.StartedAt) {
		t.Errorf("web started at %v, before db was healthy (%v)", web.StartedAt, firstHealthy(t, db))
	}
	if worker.StartedAt.Before(web.StartedAt) {
		t.Errorf("worker started before web")
	}
	if _, err := getReading(fmt.Sprintf("http://127.0.0.1:%d/reading", port)); err != nil {
		t.Errorf("web does not answer on its port: %v", err)
	}

	r := n.run("apply", "-f", file)
	if r.code != 0 || r.stdout != "nothing to do: the 3 services of plant are as the file says\n" {
		t.Errorf("the same file again: %s, want nothing to do", r)
	}
	if n.inspectLife("db").ID != db.ID || n.inspectLife("web").ID != web.ID || n.inspectLife("worker").ID != worker.ID {
		t.Errorf("the same file again replaced a container")
	}

	n.writeFile("services.yaml", threeServices(port, "echo v2; "+termable))
	if r := n.run("apply", "-f", file, "--update-wait", "300ms"); r.code != 0 || !strings.Contains(r.stdout, "worker: update") {
		t.Fatalf("changed worker: %s", r)
	}
	if n.inspectLife("db").ID != db.ID || n.inspectLife("web").ID != web.ID {
		t.Errorf("a change to worker replaced db or web")
	}
	if w := n.inspectLife("worker"); w.ID == worker.ID || w.State != "running" {
		t.Errorf("worker after its change: %+v, want a new container running", w)
	}

	// worker leaves the file: kept until --remove-orphans.
	n.writeFile("services.yaml", strings.Split(threeServices(port, termable), "  worker:")[0])
	if r := n.run("apply", "-f", file); r.code != 0 || !strings.Contains(r.stdout, "worker: not in the file") {
		t.Errorf("apply without worker: %s", r)
	}
	n.inspectLife("worker")
	if r := n.run("apply", "-f", file, "--remove-orphans"); r.code != 0 {
		t.Errorf("apply --remove-orphans: %s", r)
	}
	if r := n.run("inspect", "worker"); r.code == 0 {
		t.Errorf("worker still exists after --remove-orphans")
	}
}

// firstHealthy is when the first successful probe of h's run ended.
func firstHealthy(t *testing.T, h healthRecord) time.Time {
	t.Helper()
	if h.Health != nil {
		for _, l := range h.Health.Log {
			if l.ExitCode == 0 && !l.Start.Before(h.StartedAt) {
				return l.End
			}
		}
	}
	t.Fatalf("%s has no successful probe in its log: %+v", h.Name, h.Health)
	return time.Time{}
}

func TestApplyOfABrokenUpdateRollsBackAndSkipsWhatDependsOnIt(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.loadBusybox()
	n.must("load", "-i", imagePath(t, "sensor"))
	n.must("load", "-i", imagePath(t, "sensor-unhealthy"))
	port := freePort(t)
	file := n.writeFile("services.yaml", threeServices(port, termable))
	if r := n.run("apply", "-f", file); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	web := n.inspectLife("web")
	broken := strings.Replace(threeServices(port, "echo v2; "+termable), "image: sensor\n", "image: sensor:unhealthy\n", 1)
	n.writeFile("services.yaml", broken)
	r := n.run("apply", "-f", file)
	if r.code != 1 || !strings.Contains(r.stdout, "web: rolled back") || !strings.Contains(r.stdout, "worker: skipped: web failed") {
		t.Fatalf("apply of a broken web: %s, want web rolled back and worker skipped", r)
	}
	if cur := n.inspectLife("web"); cur.ID != web.ID || cur.State != "running" {
		t.Errorf("web after the rollback: %+v, want the old one running", cur)
	}
	if _, err := getReading(fmt.Sprintf("http://127.0.0.1:%d/reading", port)); err != nil {
		t.Errorf("web does not answer after the rollback: %v", err)
	}
}

func TestApplyRefusesBadFilesSayingWhereAndChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	bomb := "a: &a [x, x, x, x, x, x, x, x, x]\n"
	for i, prev := 'b', 'a'; i <= 'j'; i, prev = i+1, i {
		bomb += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", i, i, prev, prev, prev, prev, prev, prev, prev, prev, prev)
	}
	bomb += "services:\n  s:\n    image: busybox\n    labels: *j\n"
	tests := []struct {
		name, file string
		want       []string
	}{
		{"unknown key", "services:\n  s:\n    image: busybox\n    build: .\n", []string{"services.yaml: services.s.build: line 4: not supported by edgerun apply (supported keys: "}},
		{"wrong type", "services:\n  s:\n    image: busybox\n    ports:\n      - {a: b}\n", []string{"services.s.ports", "line 5"}},
		{"cycle", "services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on: [a]\n", []string{"services.yaml: services.b.depends_on[0]: line 7: depends_on cycle: a -> b -> a\n"}},
		{"duplicate port", "services:\n  a:\n    image: busybox\n    ports: [\"8080:80\"]\n  b:\n    image: busybox\n    ports: [\"8080:81\"]\n", []string{"8080", "line 7"}},
		{"bomb", bomb, []string{"services.yaml"}},
		{"anonymous volume", "services:\n  s:\n    image: busybox\n    volumes: [\"/data\"]\n", []string{"services.s.volumes", "line 2", "anonymous"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := e.writeFile("services.yaml", tt.file)
			r := e.run("apply", "-f", file, "-p", "bad")
			if r.code != 125 {
				t.Errorf("exit %d, want 125: %s", r.code, r)
			}
			for _, w := range append(tt.want, "services.yaml") {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("error does not say %q: %s", w, r.stderr)
				}
			}
			if ids := strings.Fields(e.must("ps", "-aq")); len(ids) != 0 {
				t.Errorf("a refused file made containers: %v", ids)
			}
		})
	}
	// A container of the same name that apply did not make is not taken over.
	e.runD("--name", "s", "busybox", "sleep", "100")
	file := e.writeFile("services.yaml", "services:\n  s:\n    image: busybox\n    command: sleep 5\n")
	if r := e.run("apply", "-f", file); r.code != 125 || !strings.Contains(r.stderr, "did not make") {
		t.Errorf("apply over a foreign container: %s", r)
	}
	e.must("rm", "-f", "s")
	if left := entries(filepath.Join(e.root, "apply")); len(left) != 0 {
		t.Errorf("refused files were recorded as applied: %v", left)
	}
}

func TestBootBringsTheAppliedSetBackInDependencyOrder(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.fakeBootID("boot-1")
	n.loadBusybox()
	n.must("load", "-i", imagePath(t, "sensor"))
	file := n.writeFile("services.yaml", threeServices(freePort(t), termable))
	if r := n.run("apply", "-f", file); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	// Every process dies at once (no command in between could restart one).
	recs := []lifeRecord{n.inspectLife("worker"), n.inspectLife("web"), n.inspectLife("db")}
	for _, rec := range recs {
		n.powerCut(rec)
	}
	n.fakeBootID("boot-2")
	if r := n.run("boot"); r.code != 0 {
		t.Fatalf("boot: %s", r)
	}
	db, web, worker := n.inspectHealth("db"), n.inspectHealth("web"), n.inspectHealth("worker")
	for _, c := range []healthRecord{db, web, worker} {
		if c.State != "running" {
			t.Errorf("%s after the reboot: %s, want running (an applied service comes back whatever its policy)", c.Name, c.State)
		}
	}
	if h := firstHealthy(t, db); web.StartedAt.Before(h) {
		t.Errorf("web started at %v, before db was healthy (%v)", web.StartedAt, h)
	}
	if worker.StartedAt.Before(web.StartedAt) {
		t.Errorf("worker started before web")
	}
}
