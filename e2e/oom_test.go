package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgerun/edgerun/internal/testenv"
)

// oomState is what inspect says of a container's OOM kills.
type oomState struct {
	status    string
	killed    bool
	kills     int
	last      time.Time
	exitCode  int
	formatted string
}

func (e *env) oomState(name string) oomState {
	e.t.Helper()
	out := strings.TrimSpace(e.must("inspect", "--format",
		`{{.State.Status}} {{.State.OOMKilled}} {{.State.OOMKills}} {{.State.ExitCode}} {{json .State.LastOOMAt}}`, name))
	f := strings.Fields(out)
	if len(f) != 5 {
		e.t.Fatalf("inspect %s: %q, want status, OOMKilled, OOMKills, ExitCode and LastOOMAt", name, out)
	}
	s := oomState{status: f[0], killed: f[1] == "true", formatted: out}
	s.kills, _ = strconv.Atoi(f[2])
	s.exitCode, _ = strconv.Atoi(f[3])
	s.last, _ = time.Parse(`"`+time.RFC3339Nano+`"`, f[4])
	return s
}

// A child the kernel's OOM killer kills is reported while the container
// runs on: inspect counts it (the monitor hears of it from the kernel, no
// polling), the journal has an oom event, and the container is not
// "(OOM killed)" when it later ends by another SIGKILL.
func TestOOMKillOfAChildIsReportedWhileTheContainerRuns(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, limitsWhy)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	since := unixArg(time.Now())
	e.runD("--name", "lives", "--memory", "32m", "--memory-swap", "32m", "busybox", "sleep", "600")
	if s := e.oomState("lives"); s.kills != 0 || s.killed || !s.last.IsZero() {
		t.Fatalf("before any OOM: %s, want no kills", s.formatted)
	}
	// The exec'd dd asks for a 64 MiB buffer in a 32 MiB cgroup.
	if r := e.run("exec", "lives", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"); r.code != 137 {
		t.Fatalf("exec dd past --memory: %s, want exit 137 (killed by the OOM killer)", r)
	}
	killed := time.Now()
	var s oomState
	for deadline := time.Now().Add(cmdTimeout); ; time.Sleep(20 * time.Millisecond) {
		if s = e.oomState("lives"); s.kills > 0 || time.Now().After(deadline) {
			break
		}
	}
	if s.kills != 1 || s.status != "running" || s.killed || s.last.IsZero() {
		t.Fatalf("after a child's OOM kill: %s, want running, OOMKilled false, OOMKills 1 and its time", s.formatted)
	}
	// The goal is within a second; a loaded machine (the VM matrix under
	// TCG) may take longer, which is the benchmark's business, not a failure.
	t.Logf("the OOM kill was in inspect %v after the exec returned", time.Since(killed).Round(time.Millisecond))
	if got := e.must("events", "--since", since, "--until", "0s", "-f", "container=lives", "-f", "event=oom", "--format", "{{.Action}}"); strings.TrimSpace(got) != "oom" {
		t.Errorf("events of the child's OOM kill: %q, want one oom", got)
	}
	e.must("kill", "lives") // SIGKILL: exit 137, but not the OOM killer's
	rec := e.waitFor("lives", "its exit", func(l lifeRecord) bool { return l.State == "exited" })
	if s := e.oomState("lives"); rec.ExitCode != 137 || s.killed || s.kills != 1 {
		t.Errorf("killed by edgerun kill after a child's OOM kill: %s, want exit 137, OOMKilled false, OOMKills 1", s.formatted)
	}
	if out := e.must("ps", "-a", "--filter", "name=lives", "--format", "{{.Status}}"); strings.Contains(out, "OOM") {
		t.Errorf("ps says %q of a container whose init the OOM killer spared", out)
	}
	e.must("rm", "lives")
}

// A detached container whose init the OOM killer kills ends with 137,
// "(OOM killed)" in ps, and oom then die in the journal.
func TestOOMKillOfTheInitEndsADetachedContainer(t *testing.T) {
	testenv.SkipRootlessWithoutCgroup(t, limitsWhy)
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	since := unixArg(time.Now())
	e.runD("--name", "hogd", "--memory", "16m", "--memory-swap", "16m", "busybox", "sh", "-c", `x=a; while true; do x=$x$x; done`)
	rec := e.waitFor("hogd", "its OOM kill", func(l lifeRecord) bool { return l.State == "exited" })
	s := e.oomState("hogd")
	if rec.ExitCode != 137 || !s.killed || s.kills < 1 || s.last.IsZero() {
		t.Errorf("after the init's OOM kill: %s, want exited 137, OOMKilled true, OOMKills >= 1 and its time", s.formatted)
	}
	if out := e.must("ps", "-a", "--filter", "name=hogd", "--format", "{{.Status}}"); !strings.Contains(out, "(OOM killed)") {
		t.Errorf("ps -a: %q, want (OOM killed)", out)
	}
	got := strings.Fields(e.must("events", "--since", since, "--until", "0s", "-f", "container=hogd", "-f", "event=oom", "-f", "event=die",
		"--format", "{{.Action}}"))
	if len(got) < 2 || got[0] != "oom" || got[len(got)-1] != "die" {
		t.Errorf("events: %v, want oom (one per notice) then die", got)
	}
	e.must("rm", "hogd")
}
