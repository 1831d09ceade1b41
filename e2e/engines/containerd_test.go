package engines

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgerun/edgerun/internal/testenv"
)

// busyboxRef is the name ctr import gives the busybox layout (its
// org.opencontainers.image.ref.name).
const busyboxRef = "busybox:latest"

// containerd is a containerd of the test's own, in a sandbox, whose tasks
// run through containerd's io.containerd.runc.v2 shim with rt as the
// shim's runc binary.
type containerd struct {
	t        *testing.T // the test that started it
	sb       *sandbox
	rt       ociRuntime
	dir      string
	ns       string // the ctr namespace; containers' cgroups are at /<ns>/<id>
	sock     string
	log      string // containerd's log (debug level: the shims' lines too)
	runcRoot string // the runtime's --root, given to the shim
}

// containerdConfig keeps containerd's root, state and sockets under dir
// and loads only what ctr run needs: no CRI, no optional snapshotters, no
// tracing, no /opt (the opt plugin installs into /opt/containerd).
const containerdConfig = `version = 2
root = %[1]q
state = %[2]q
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[debug]
  address = ""
  level = "debug"

[metrics]
  address = ""
`

// startContainerd starts a containerd in a new sandbox and imports the
// busybox layout into it. Cleanup removes its tasks and containers the
// way a user would, checks that the runtime left nothing, and stops it.
func startContainerd(t *testing.T, rt ociRuntime, layout string) *containerd {
	t.Helper()
	dir := t.TempDir()
	c := &containerd{t: t, rt: rt, dir: dir,
		ns:       fmt.Sprintf("edgerun-engines-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6),
		sock:     filepath.Join(dir, "containerd.sock"),
		log:      filepath.Join(dir, "containerd.log"),
		runcRoot: filepath.Join(dir, "runtime-root"),
	}
	c.sb = newSandbox(t, dir)
	c.sb.cgroups = []string{"/" + c.ns}
	conf := filepath.Join(dir, "config.toml")
	body := fmt.Sprintf(containerdConfig, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock, c.sock+".ttrpc")
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(c.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := c.sb.command(context.Background(), "containerd", "--config", conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { c.stop(cmd.Process.Pid, exited) })
	if !eventually(10*time.Second, func() bool { return c.ctr("version").code == 0 }) {
		t.Fatalf("containerd did not answer on %s within 10s:\n%s", c.sock, c.logTail(30))
	}
	tarball, err := tarLayout(layout)
	if err != nil {
		t.Fatal(err)
	}
	r := c.sb.runInput(tarball, "ctr", c.global("images", "import", "-")...)
	if r.code != 0 {
		t.Fatalf("ctr images import: %v", r)
	}
	return c
}

func (c *containerd) global(args ...string) []string {
	return append([]string{"--address", c.sock, "--namespace", c.ns}, args...)
}

// ctr runs ctr with args in the sandbox.
func (c *containerd) ctr(args ...string) result {
	return c.sb.run("ctr", c.global(args...)...)
}

// runArgs are ctr run's arguments for a container id running cmd, with
// the runtime under test as the shim's runc binary.
func (c *containerd) runArgs(flags []string, id string, cmd ...string) []string {
	args := append([]string{"run", "--runc-binary", c.rt.path, "--runc-root", c.runcRoot}, flags...)
	return append(append(args, busyboxRef, id), cmd...)
}

// status returns a task's PID and status (RUNNING, PAUSED, STOPPED) as
// ctr task ls says, "" when there is no such task.
func (c *containerd) status(id string) (pid int, status string) {
	r := c.ctr("task", "ls")
	for _, line := range strings.Split(r.stdout, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == id {
			pid, _ = strconv.Atoi(f[1])
			return pid, f[2]
		}
	}
	return 0, ""
}

// waitStatus waits until the task's status is want.
func (c *containerd) waitStatus(id, want string) bool {
	return eventually(10*time.Second, func() bool { _, s := c.status(id); return s == want })
}

// assertGone checks that nothing of container id is left: no container
// or task in containerd, no runtime state, no cgroup, no rootfs mount.
func (c *containerd) assertGone(t *testing.T, id string) {
	t.Helper()
	if r := c.ctr("containers", "ls", "-q"); strings.Contains(r.stdout, id) {
		t.Errorf("container %s still listed: %s", id, r.stdout)
	}
	state := filepath.Join(c.runcRoot, c.ns, id)
	if _, err := os.Lstat(state); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s left its state of container %s: %s (%v)", c.rt.name, id, state, err)
	}
	assertNoCgroupsAt(t, "/"+c.ns+"/"+id)
	c.sb.assertNoMountsUnder(t, filepath.Join(c.dir, "state", "io.containerd.runtime.v2.task", c.ns, id))
}

// logTail returns containerd's last n log lines of level warning and
// above: the shims' and the runtime's errors among them.
func (c *containerd) logTail(n int) string {
	var lines []string
	for _, l := range strings.Split(readFile(c.log), "\n") {
		if strings.Contains(l, "level=warning") || strings.Contains(l, "level=error") || strings.Contains(l, "level=fatal") {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// stop removes what is left the way a user would (ctr task delete -f,
// ctr containers delete), checks the runtime's state directory is empty,
// and stops containerd. On failure it prints containerd's log, which
// holds the shims' and the runtime's error lines.
func (c *containerd) stop(pid int, exited chan error) {
	t := c.t
	r := c.ctr("containers", "ls", "-q")
	for _, id := range strings.Fields(r.stdout) {
		t.Errorf("container %s left at the end of the test: removing it", id)
		c.ctr("task", "kill", "-a", "-s", "SIGKILL", id)
		c.ctr("task", "delete", "-f", id)
		c.ctr("containers", "delete", id)
	}
	if ents, _ := os.ReadDir(filepath.Join(c.runcRoot, c.ns)); len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("%s state left in %s: %s", c.rt.name, c.runcRoot, strings.Join(names, " "))
	}
	if t.Failed() {
		t.Logf("containerd's log (%s), last warnings and errors:\n%s", c.log, c.logTail(40))
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Logf("containerd ended after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("containerd did not stop within 10s of SIGTERM")
	}
}

// TestContainerd drives edgerun-oci (and runc) from containerd's runc v2
// shim through ctr: run --rm, run -d with exec, ps, pause, resume and
// kill, kill --all, and a terminal.
func TestContainerd(t *testing.T) {
	layout := requireSetup(t, "start a containerd of its own and run containers through it",
		"containerd", "ctr", "containerd-shim-runc-v2")
	forEachRuntime(t, func(t *testing.T, rt ociRuntime) {
		c := startContainerd(t, rt, layout)
		t.Run("RunRmPassesOutputAndExitCode", c.testRunRm)
		t.Run("DetachedExecPsPauseResumeKill", c.testDetached)
		t.Run("KillAll", c.testKillAll)
		t.Run("TTY", c.testTTY)
		t.Run("JoinsAPodSandboxsNamespaces", c.testJoinNamespaces)
	})
}

func (c *containerd) testRunRm(t *testing.T) {
	r := c.ctr(c.runArgs([]string{"--rm"}, "rm1", "sh", "-c", "echo out; echo err >&2; exit 3")...)
	if r.code != 3 || strings.TrimSpace(r.stdout) != "out" || strings.TrimSpace(r.stderr) != "err" {
		t.Errorf("want exit 3, stdout out, stderr err; got %v", r)
	}
	c.assertGone(t, "rm1")
	r = c.ctr(c.runArgs([]string{"--rm"}, "rm2", "true")...)
	if r.code != 0 {
		t.Errorf("ctr run --rm true: %v", r)
	}
	c.assertGone(t, "rm2")
}

func (c *containerd) testDetached(t *testing.T) {
	const id = "detached"
	logPath := filepath.Join(c.dir, id+".log")
	r := c.ctr(c.runArgs([]string{"-d", "--log-uri", "file://" + logPath}, id,
		"sh", "-c", `trap 'echo got-term; exit 7' TERM; echo started; while true; do sleep 0.1; done`)...)
	if r.code != 0 {
		t.Fatalf("ctr run -d: %v", r)
	}
	if !eventually(10*time.Second, func() bool { return strings.Contains(readFile(logPath), "started") }) {
		t.Fatalf("the container did not print started within 10s; log: %q", readFile(logPath))
	}
	pid, status := c.status(id)
	if status != "RUNNING" || pid <= 0 {
		t.Fatalf("ctr task ls: %s %d, want RUNNING", status, pid)
	}
	assertRuntimeOwns(t, c.sb, c.rt, filepath.Join(c.runcRoot, c.ns), id, pid)
	if cg := readFile(fmt.Sprintf("/proc/%d/cgroup", pid)); !strings.Contains(cg, "/"+c.ns+"/"+id) {
		t.Errorf("the container's init is not in the cgroup the spec asks for (/%s/%s):\n%s", c.ns, id, cg)
	}

	r = c.ctr("task", "exec", "--exec-id", "exec1", id, "sh", "-c", "echo from-exec; exit 4")
	if r.code != 4 || strings.TrimSpace(r.stdout) != "from-exec" {
		t.Errorf("ctr task exec: want exit 4 and from-exec; got %v", r)
	}
	r = c.ctr("task", "ps", id)
	if r.code != 0 || !strings.Contains(r.stdout, strconv.Itoa(pid)) {
		t.Errorf("ctr task ps does not list the init process %d: %v", pid, r)
	}

	if r = c.ctr("task", "pause", id); r.code != 0 {
		t.Errorf("ctr task pause: %v", r)
	}
	if _, s := c.status(id); s != "PAUSED" {
		t.Errorf("after pause, ctr task ls says %s, want PAUSED", s)
	}
	if f := frozen(c.ns, id); f != "frozen" {
		t.Errorf("after pause, the container's cgroup is %s, want frozen", f)
	}
	if r = c.ctr("task", "resume", id); r.code != 0 {
		t.Errorf("ctr task resume: %v", r)
	}
	if _, s := c.status(id); s != "RUNNING" {
		t.Errorf("after resume, ctr task ls says %s, want RUNNING", s)
	}
	if f := frozen(c.ns, id); f != "thawed" {
		t.Errorf("after resume, the container's cgroup is %s, want thawed", f)
	}

	if r = c.ctr("task", "kill", "-s", "SIGTERM", id); r.code != 0 {
		t.Errorf("ctr task kill -s SIGTERM: %v", r)
	}
	if !c.waitStatus(id, "STOPPED") {
		_, s := c.status(id)
		t.Errorf("10s after SIGTERM the task is %s, want STOPPED", s)
	}
	if !eventually(5*time.Second, func() bool { return strings.Contains(readFile(logPath), "got-term") }) {
		t.Errorf("the container's TERM trap did not run; log: %q", readFile(logPath))
	}
	r = c.ctr("task", "delete", id)
	if r.code != 0 || !strings.Contains(r.stderr, "exit code 7") {
		t.Errorf("ctr task delete: want the exit code 7 reported; got %v", r)
	}
	if r = c.ctr("containers", "delete", id); r.code != 0 {
		t.Errorf("ctr containers delete: %v", r)
	}
	c.assertGone(t, id)
}

func (c *containerd) testKillAll(t *testing.T) {
	const id = "killall"
	r := c.ctr(c.runArgs([]string{"-d", "--null-io"}, id, "sleep", "1000")...)
	if r.code != 0 {
		t.Fatalf("ctr run -d: %v", r)
	}
	if r = c.ctr("task", "exec", "-d", "--exec-id", "bg", id, "sleep", "1001"); r.code != 0 {
		t.Errorf("ctr task exec -d: %v", r)
	}
	var pids []string
	eventually(5*time.Second, func() bool {
		r = c.ctr("task", "ps", id)
		pids = taskPids(r.stdout)
		return len(pids) == 2
	})
	if len(pids) != 2 {
		t.Errorf("ctr task ps: want 2 processes (sleep 1000, sleep 1001): %v", r)
	}
	if r = c.ctr("task", "kill", "--all", "-s", "SIGKILL", id); r.code != 0 {
		t.Errorf("ctr task kill --all: %v", r)
	}
	if !c.waitStatus(id, "STOPPED") {
		_, s := c.status(id)
		t.Errorf("10s after kill --all the task is %s, want STOPPED", s)
	}
	for _, p := range pids {
		if _, err := os.Stat("/proc/" + p); err == nil {
			t.Errorf("process %s of the container survived kill --all", p)
		}
	}
	if r = c.ctr("task", "delete", id); r.code != 0 {
		t.Errorf("ctr task delete: %v", r)
	}
	if r = c.ctr("containers", "delete", id); r.code != 0 {
		t.Errorf("ctr containers delete: %v", r)
	}
	c.assertGone(t, id)
}

func (c *containerd) testTTY(t *testing.T) {
	master, tty := testenv.OpenPty(t)
	testenv.SetPtySize(t, tty, 33, 101)
	args := c.global(c.runArgs([]string{"--rm", "-t"}, "tty1",
		"sh", "-c", ttyScript)...)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := c.sb.command(ctx, "ctr", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { err := cmd.Wait(); tty.Close(); waited <- err }()
	var out []string
	sc := bufio.NewScanner(master)
	for sc.Scan() {
		out = append(out, strings.TrimSpace(sc.Text()))
	}
	err := <-waited
	all := strings.Join(out, "\n")
	if code := cmd.ProcessState.ExitCode(); code != 5 {
		t.Errorf("ctr run -t: exit %d (%v), want 5; terminal:\n%s", code, err, all)
	}
	if !strings.Contains(all, "is-a-tty") || !strings.Contains(all, "size 33 101") {
		t.Errorf("want is-a-tty and the size 33 101 on the terminal; got:\n%s", all)
	}
	c.assertGone(t, "tty1")
}

// testJoinNamespaces runs a container the way the CRI plugin runs a pod's
// app containers: joining the network, IPC and UTS namespaces of the pod's
// sandbox container by path.
func (c *containerd) testJoinNamespaces(t *testing.T) {
	const pod = "pod-sandbox"
	r := c.ctr(c.runArgs([]string{"-d", "--null-io"}, pod, "sleep", "1000")...)
	if r.code != 0 {
		t.Fatalf("ctr run -d: %v", r)
	}
	defer func() {
		c.ctr("task", "kill", "-s", "SIGKILL", pod)
		c.waitStatus(pod, "STOPPED")
		if r := c.ctr("task", "delete", pod); r.code != 0 {
			t.Errorf("ctr task delete: %v", r)
		}
		if r := c.ctr("containers", "delete", pod); r.code != 0 {
			t.Errorf("ctr containers delete: %v", r)
		}
		c.assertGone(t, pod)
	}()
	pid, _ := c.status(pod)
	kinds := []struct{ ctr, proc string }{{"network", "net"}, {"ipc", "ipc"}, {"uts", "uts"}}
	var flags, want []string
	for _, k := range kinds {
		p := fmt.Sprintf("/proc/%d/ns/%s", pid, k.proc)
		ns, err := os.Readlink(p)
		if err != nil {
			t.Fatal(err)
		}
		flags = append(flags, "--with-ns", k.ctr+":"+p)
		want = append(want, ns)
	}
	// One write: ctr run --rm can lose the later writes of a task that
	// exits at once (seen with runc as well as edgerun-oci).
	r = c.ctr(c.runArgs(append([]string{"--rm"}, flags...), "pod-app",
		"sh", "-c", "echo $(readlink /proc/self/ns/net) $(readlink /proc/self/ns/ipc) $(readlink /proc/self/ns/uts)")...)
	if got := strings.Fields(r.stdout); r.code != 0 || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("want the sandbox's namespaces %v; got %v", want, r)
	}
	c.assertGone(t, "pod-app")
}

// ttyScript checks that stdin and stdout are a terminal and prints its
// size once it is set (ctr resizes the terminal after the task starts).
const ttyScript = `test -t 0 && test -t 1 && echo is-a-tty
for i in $(seq 50); do s=$(stty size 2>&1); case $s in [1-9]*" "[1-9]*) break;; esac; sleep 0.1; done
echo "size $s"; exit 5`

// taskPids returns the PIDs ctr task ps lists.
func taskPids(out string) []string {
	var pids []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] != "PID" {
			if _, err := strconv.Atoi(f[0]); err == nil {
				pids = append(pids, f[0])
			}
		}
	}
	return pids
}

// frozen returns the freezer state of the cgroup at /<ns>/<id>, as the
// kernel says: a v1 freezer's freezer.state, else cgroup v2's
// cgroup.events; "" when neither can be read.
func frozen(ns, id string) string {
	rel := "/" + ns + "/" + id
	if s := strings.TrimSpace(readFile(filepath.Join("/sys/fs/cgroup/freezer", rel, "freezer.state"))); s != "" {
		return map[string]string{"FROZEN": "frozen", "THAWED": "thawed"}[s]
	}
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		for _, line := range strings.Split(readFile(filepath.Join(root, rel, "cgroup.events")), "\n") {
			switch line {
			case "frozen 1":
				return "frozen"
			case "frozen 0":
				return "thawed"
			}
		}
	}
	return ""
}

// readFile returns a file's content, "" when it cannot be read.
func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
