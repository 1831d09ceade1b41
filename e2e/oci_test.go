package e2e

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

type ociState struct {
	ID, Status, Bundle, Rootfs string
	Pid                        int
}

func (e *ociEnv) state(id string) ociState {
	e.t.Helper()
	var s ociState
	if err := json.Unmarshal([]byte(e.mustOCI("state", id)), &s); err != nil {
		e.t.Fatalf("state %s: %v", id, err)
	}
	return s
}

func (e *ociEnv) waitStatus(id, want string) ociState {
	e.t.Helper()
	var s ociState
	for i := 0; i < 200; i++ {
		if s = e.state(id); s.Status == want {
			return s
		}
		time.Sleep(25 * time.Millisecond)
	}
	e.t.Fatalf("container %s is %s, want %s", id, s.Status, want)
	return s
}

func TestOCICreateStartExecPauseUpdateKillDelete(t *testing.T) {
	e := newOCIEnv(t)
	e.writeSpec("c1", nil, "sleep", "1000")
	pidFile := filepath.Join(t.TempDir(), "pid")
	e.mustOCI("create", "--bundle", e.bundle, "--pid-file", pidFile, "c1")
	s := e.state("c1")
	b, _ := os.ReadFile(pidFile)
	if s.Status != "created" || strconv.Itoa(s.Pid) != string(b) || s.Bundle != e.bundle {
		t.Fatalf("after create: %+v, pid file %q, bundle want %s", s, b, e.bundle)
	}
	e.mustOCI("start", "c1")
	e.waitStatus("c1", "running")
	var pids []int
	if err := json.Unmarshal([]byte(e.mustOCI("ps", "--format", "json", "c1")), &pids); err != nil || !slices.Contains(pids, s.Pid) {
		t.Fatalf("ps --format json: %v %v, want the init %d", pids, err, s.Pid)
	}
	if r := e.oci("exec", "c1", "sh", "-c", "echo in-exec; exit 5"); r.code != 5 || r.stdout != "in-exec\n" {
		t.Fatalf("exec: %s; want exit 5 and its output", r)
	}
	e.mustOCI("pause", "c1")
	e.waitStatus("c1", "paused")
	if r := e.oci("exec", "c1", "true"); r.code == 0 || !strings.Contains(e.lastLogError(), "paused") {
		t.Fatalf("exec in a paused container: %s, log %q", r, e.lastLogError())
	}
	e.mustOCI("resume", "c1")
	e.waitStatus("c1", "running")
	e.mustOCI("update", "--pids-limit", "42", "c1")
	if got := pidsLimitOf(t, s.Pid); got != "42" {
		t.Fatalf("pids.max after update --pids-limit 42: %q", got)
	}
	if r := e.oci("delete", "c1"); r.code == 0 {
		t.Fatalf("delete of a running container without --force succeeded: %s", r)
	}
	e.mustOCI("kill", "c1", "KILL")
	e.waitStatus("c1", "stopped")
	e.mustOCI("delete", "c1")
	if r := e.oci("state", "c1"); r.code == 0 || !strings.Contains(r.stderr, "no such container") {
		t.Fatalf("state after delete: %s", r)
	}
	if out := e.mustOCI("list", "-q"); out != "" {
		t.Fatalf("list after delete: %q", out)
	}
}

// pidsLimitOf reads the pids limit of the process's cgroup (v1 or v2).
func pidsLimitOf(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		var path string
		switch {
		case slices.Contains(strings.Split(f[1], ","), "pids"):
			path = "/sys/fs/cgroup/pids" + f[2] + "/pids.max"
		case f[0] == "0" && f[1] == "":
			path = "/sys/fs/cgroup" + f[2] + "/pids.max"
		default:
			continue
		}
		if v, err := os.ReadFile(path); err == nil {
			return strings.TrimSpace(string(v))
		}
	}
	return ""
}

func TestOCIRunReturnsTheExitCodeAndDeletesTheContainer(t *testing.T) {
	e := newOCIEnv(t)
	e.writeSpec("r1", nil, "sh", "-c", "echo out; echo err >&2; exit 3")
	r := e.oci("run", "--bundle", e.bundle, "r1")
	if r.code != 3 || r.stdout != "out\n" || r.stderr != "err\n" {
		t.Fatalf("run: %s; want exit 3, out on stdout, err on stderr", r)
	}
	if out := e.mustOCI("list", "-q"); out != "" {
		t.Fatalf("run left a container: %q", out)
	}
}

func TestOCIKillAllSignalsEveryProcess(t *testing.T) {
	e := newOCIEnv(t)
	// The shell is the PID namespace's init: without a handler, TERM from
	// outside does not reach it. Its first sleep dies of TERM, then it
	// starts another.
	e.writeSpec("k1", nil, "sh", "-c", "sleep 1000 & wait; sleep 1000")
	e.mustOCI("run", "-d", "--bundle", e.bundle, "k1")
	init := e.state("k1").Pid
	var pids []int
	for i := 0; i < 100 && len(pids) < 2; i++ {
		_ = json.Unmarshal([]byte(e.mustOCI("ps", "--format", "json", "k1")), &pids)
		time.Sleep(20 * time.Millisecond)
	}
	if len(pids) != 2 {
		t.Fatalf("processes: %v, want the shell and its sleep", pids)
	}
	child := pids[0]
	if child == init {
		child = pids[1]
	}
	e.mustOCI("kill", "--all", "k1", "TERM")
	gone := false
	for i := 0; i < 200 && !gone; i++ {
		_ = json.Unmarshal([]byte(e.mustOCI("ps", "--format", "json", "k1")), &pids)
		gone = !slices.Contains(pids, child) && slices.Contains(pids, init)
		time.Sleep(20 * time.Millisecond)
	}
	if !gone {
		t.Fatalf("after kill --all TERM: %v, want the sleep %d gone and the init %d left", pids, child, init)
	}
	e.mustOCI("delete", "--force", "k1")
}

func TestOCIConsoleSocketReceivesThePtyMaster(t *testing.T) {
	e := newOCIEnv(t)
	e.writeSpec("tty1", func(s *specs.Spec) { s.Process.Terminal = true }, "sh", "-c", "tty; echo hello-tty")
	sock := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	master := make(chan *os.File, 1)
	go func() {
		defer close(master)
		c, err := l.AcceptUnix()
		if err != nil {
			return
		}
		defer c.Close()
		oob := make([]byte, unix.CmsgSpace(4))
		_, oobn, _, _, err := c.ReadMsgUnix(make([]byte, 4096), oob)
		if err != nil {
			return
		}
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		if len(msgs) == 1 {
			if fds, _ := unix.ParseUnixRights(&msgs[0]); len(fds) == 1 {
				master <- os.NewFile(uintptr(fds[0]), "pty-master")
			}
		}
	}()
	e.mustOCI("create", "--bundle", e.bundle, "--console-socket", sock, "tty1")
	m := <-master
	if m == nil {
		t.Fatal("no pty master came over the console socket")
	}
	defer m.Close()
	e.mustOCI("start", "tty1")
	out := make([]byte, 0, 256)
	buf := make([]byte, 256)
	_ = m.SetReadDeadline(time.Now().Add(20 * time.Second))
	for !strings.Contains(string(out), "hello-tty") {
		n, err := m.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	if !strings.Contains(string(out), "/dev/pts/") || !strings.Contains(string(out), "hello-tty") {
		t.Fatalf("pty output %q: want a /dev/pts terminal and hello-tty", out)
	}
	e.waitStatus("tty1", "stopped")
	e.mustOCI("delete", "tty1")
}

func TestOCIHooksRunInOrderWithTheState(t *testing.T) {
	e := newOCIEnv(t)
	dir := t.TempDir()
	logf := filepath.Join(dir, "hooks.log")
	hook := filepath.Join(dir, "hook.sh")
	// A host hook records its name and the state's status from stdin.
	script := "#!/bin/sh\nst=$(cat | sed -n 's/.*\"status\": *\"\\([a-z]*\\)\".*/\\1/p')\necho \"$1 $st\" >> " + logf + "\n"
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	h := func(name string) []specs.Hook { return []specs.Hook{{Path: hook, Args: []string{"hook.sh", name}}} }
	e.writeSpec("h1", func(s *specs.Spec) {
		s.Root.Readonly = false
		// Prestart is deprecated but engines still send it: runc runs it.
		s.Hooks = &specs.Hooks{
			Prestart: h("prestart"), CreateRuntime: h("createRuntime"), Poststart: h("poststart"), Poststop: h("poststop"), //nolint:staticcheck // see above
			// startContainer runs in the container: its path is the container's.
			StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo startContainer > /tmp/started"}}},
		}
	}, "sh", "-c", "cat /tmp/started; sleep 1")
	r := e.oci("run", "--bundle", e.bundle, "h1")
	if r.code != 0 || r.stdout != "startContainer\n" {
		t.Fatalf("run with hooks: %s; the process should see the startContainer hook's file", r)
	}
	b, _ := os.ReadFile(logf)
	// poststart runs once the process runs (libcontainer and runc run it
	// at create, with the state "created").
	want := "prestart creating\ncreateRuntime creating\npoststart running\npoststop stopped\n"
	if string(b) != want {
		t.Fatalf("hooks ran as\n%s\nwant\n%s", b, want)
	}
}

func TestOCIBadInputFailsClearlyAndLeavesNothing(t *testing.T) {
	e := newOCIEnv(t)
	for _, tc := range []struct {
		name string
		id   string
		edit func(s *specs.Spec)
		raw  func(b []byte) []byte // changes config.json's bytes
		args []string
		want string
	}{
		{name: "id with a slash", id: "a/b", want: "invalid container id"},
		{name: "id dotdot", id: "..", want: "invalid container id"},
		{name: "truncated config", id: "bad1", raw: func(b []byte) []byte { return b[:len(b)/3] }, want: "truncated"},
		{name: "unknown field", id: "bad2", raw: func(b []byte) []byte { return append([]byte(`{"bogus":1,`), b[1:]...) }, want: `unknown field "bogus"`},
		{name: "rootfs outside", id: "bad3", edit: func(s *specs.Spec) { s.Root.Path = "../.." }, want: "outside the bundle"},
		{name: "rootfs missing", id: "bad4", edit: func(s *specs.Spec) { s.Root.Path = "nothing" }, want: "no such file"},
		{name: "missing hook", id: "bad5", edit: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/nonexistent/hook"}}} //nolint:staticcheck // engines still send it
		}, want: "hooks.prestart[0]"},
		{name: "missing command", id: "bad6", args: []string{"/nonexistent"}, want: "/nonexistent"},
		{name: "failing createRuntime hook", id: "bad7", edit: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/false"}}}
		}, want: "createRuntime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if args == nil {
				args = []string{"true"}
			}
			e.writeSpec(strings.ReplaceAll(tc.id, "/", "_"), tc.edit, args...)
			if tc.raw != nil {
				p := filepath.Join(e.bundle, "config.json")
				b, _ := os.ReadFile(p)
				if err := os.WriteFile(p, tc.raw(b), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := e.oci("create", "--bundle", e.bundle, tc.id)
			if r.code == 0 {
				e.oci("delete", "--force", tc.id)
				t.Fatalf("create succeeded: %s", r)
			}
			if msg := e.lastLogError(); !strings.Contains(msg, tc.want) {
				t.Fatalf("last error in --log %q, want it to say %q; %s", msg, tc.want, r)
			}
			if entries, _ := os.ReadDir(e.root); len(entries) > 0 {
				t.Fatalf("failed create left %s in the runtime's root", entries[0].Name())
			}
		})
	}
}
