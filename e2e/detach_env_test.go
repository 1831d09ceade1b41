package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// lifeRecord is the part of inspect the detached-container tests read.
type lifeRecord struct {
	record
	RestartCount  int
	StoppedByUser bool
	MonitorPid    int
	MonitorLost   bool
	HostRestarted bool
	Detached      bool
	Error         string
	RestartDelay  time.Duration
}

func (d *inspectDoc) life() lifeRecord {
	x := d.Edgerun
	return lifeRecord{record: d.record(), RestartCount: d.RestartCount, StoppedByUser: x.StoppedByUser,
		MonitorPid: x.MonitorPid, MonitorLost: x.MonitorLost, HostRestarted: x.HostRestarted, Detached: x.Detached,
		Error: d.State.Error, RestartDelay: x.RestartDelay}
}

func (e *env) inspectLife(name string) lifeRecord {
	e.t.Helper()
	d := e.inspectDoc(name)
	return d.life()
}

var fullID = regexp.MustCompile(`^[0-9a-f]{64}$`)

// runD runs `run -d` and returns the container ID it prints.
func (e *env) runD(args ...string) string {
	e.t.Helper()
	out := strings.TrimSpace(e.must(append([]string{"run", "-d"}, args...)...))
	if !fullID.MatchString(out) {
		e.t.Fatalf("run -d %v printed %q, want a 64-hex container ID", args, out)
	}
	e.noteID(out)
	return out
}

// waitFor polls inspect until ok holds (bounded by cmdTimeout: a hang
// fails the test; nothing here measures time).
func (e *env) waitFor(name, what string, ok func(lifeRecord) bool) lifeRecord {
	e.t.Helper()
	deadline := time.Now().Add(cmdTimeout)
	for {
		rec := e.inspectLife(name)
		if ok(rec) {
			return rec
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("container %s: waited for %s; last record: %+v", name, what, rec)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLogs polls `logs` until its stdout contains want.
func (e *env) waitLogs(name, want string) string {
	e.t.Helper()
	deadline := time.Now().Add(cmdTimeout)
	for {
		r := e.run("logs", name)
		if r.code == 0 && strings.Contains(r.stdout, want) {
			return r.stdout
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("logs %s: waited for %q; last: %s", name, want, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// monitors returns the PIDs of monitor processes of this env.
func (e *env) monitors() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 3 && args[1] == "__monitor" && args[3] == e.state {
			pids = append(pids, pid)
		}
	}
	return pids
}

func isExited(r lifeRecord) bool { return r.State == "exited" }
