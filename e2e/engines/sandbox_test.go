package engines

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgerun/edgerun/internal/testenv"
	"golang.org/x/sys/unix"
)

// hidden are the host directories a sandbox covers with an empty tmpfs:
// where containerd's shim puts its sockets (/run/containerd/s, fixed in
// 1.6), podman its netns files (/run/netns), the CNI plugins their cache
// (/var/lib/cni), containers/image its blob-info cache
// (/var/lib/containers/cache) and short-name lock (/var/cache/containers),
// and podman its image copies (/var/tmp).
var hidden = []string{"/run", "/var/lib", "/var/cache", "/var/tmp"}

// sandbox is a private mount and network namespace that an engine and
// everything it starts live in, held by a sleeping process.
type sandbox struct {
	t      *testing.T
	dir    string // the test's directory: roots, state, configuration
	holder *exec.Cmd
	pid    int
	env    []string // added to every command's environment
	// cgroups are the cgroup paths (relative to each hierarchy's root) the
	// engine is told to put containers under; teardown removes what is
	// left of them, and the test fails if anything was.
	cgroups []string
}

// newSandbox starts a sandbox for a test whose files live in dir.
// Teardown is registered with t.Cleanup, so it runs when the test fails.
func newSandbox(t *testing.T, dir string) *sandbox {
	t.Helper()
	script := "set -e; for d in " + strings.Join(hidden, " ") +
		"; do mount -t tmpfs -o mode=0755,size=512m edgerun-engines $d; done; ip link set lo up; echo ready; exec sleep 2147483647"
	holder := exec.Command("unshare", "--mount", "--net", "--propagation", "private", "--", "sh", "-c", script)
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	holder.Stderr = &stderr
	if err := holder.Start(); err != nil {
		t.Fatalf("start the sandbox: %v", err)
	}
	s := &sandbox{t: t, dir: dir, holder: holder, pid: holder.Process.Pid}
	t.Cleanup(s.teardown)
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		_ = holder.Process.Kill()
		_ = holder.Wait()
		t.Fatalf("the sandbox did not start (unshare --mount --net): %v %q; stderr: %s", err, line, stderr.String())
	}
	return s
}

// command returns name with args, run inside the sandbox.
func (s *sandbox) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	full := append([]string{"-t", strconv.Itoa(s.pid), "--mount", "--net", "--", name}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Dir = s.dir
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs name with args in the sandbox and returns what it did.
func (s *sandbox) run(name string, args ...string) result {
	return s.runInput(nil, name, args...)
}

// runInput is run with stdin from in.
func (s *sandbox) runInput(in []byte, name string, args ...string) result {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	return run(s.command(ctx, name, args...), in)
}

// assertNoMountsUnder fails the test when the sandbox's mount table holds
// a mount involving dir: the engine or the runtime should have removed it.
func (s *sandbox) assertNoMountsUnder(t *testing.T, dir string) {
	t.Helper()
	h := testenv.Host{Mountinfo: "/proc/" + strconv.Itoa(s.pid) + "/mountinfo"}
	mounts, err := h.Mounts(dir)
	if err != nil {
		t.Errorf("check for mounts left in the sandbox: %v", err)
	}
	for _, m := range mounts {
		t.Errorf("mount left in the sandbox: %s", m.Line)
	}
}

// fetch sends an HTTP/1.0 GET for path to addr from inside the sandbox's
// network namespace (a locked thread that joins it and then dies with its
// goroutine) and returns the whole response.
func (s *sandbox) fetch(addr, path string) (string, error) {
	type answer struct {
		resp string
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		resp, err := func() (string, error) {
			ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", s.pid))
			if err != nil {
				return "", err
			}
			defer ns.Close()
			if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
				return "", fmt.Errorf("join the sandbox's network namespace: %w", err)
			}
			conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				return "", err
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr); err != nil {
				return "", err
			}
			b, err := io.ReadAll(conn)
			return string(b), err
		}()
		done <- answer{resp, err}
	}()
	a := <-done
	return a.resp, a.err
}

// written lists the files the engine and the runtime wrote to the hidden
// directories, as the sandbox sees them (through its holder's root).
func (s *sandbox) written() []string {
	var files []string
	root := "/proc/" + strconv.Itoa(s.pid) + "/root"
	for _, d := range hidden {
		_ = filepath.WalkDir(root+d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				files = append(files, strings.TrimPrefix(p, root))
			}
			return nil
		})
	}
	return files
}

// teardown kills everything the sandbox holds and checks that nothing of
// it is left on the host: processes, cgroups, mounts.
func (s *sandbox) teardown() {
	t := s.t
	t.Helper()
	if files := s.written(); len(files) > 0 {
		t.Logf("written to the sandbox's tmpfs (%s), gone with it: %s", strings.Join(hidden, " "), strings.Join(files, " "))
	}
	// Kill what is left (an engine killed mid-test, a container of a
	// failing runtime), the holder last: its namespaces die with it.
	var left []int
	for i := 0; i < 100; i++ {
		pids := s.processes()
		if i == 0 && len(pids) > 0 {
			left = pids
		}
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = s.holder.Process.Kill()
	_ = s.holder.Wait()
	if len(left) > 0 {
		t.Errorf("processes left when the test ended, killed: %s", describe(left))
	}
	if pids := s.processes(); len(pids) > 0 {
		t.Errorf("processes still alive after SIGKILL: %s", describe(pids))
	}
	s.removeCgroups()
	testenv.AssertNoMountsUnder(t, s.dir)
}

// processes returns the processes of the sandbox, its holder apart: those
// in its mount or network namespace, in its cgroups, or naming its
// directory on their command line, and their descendants.
func (s *sandbox) processes() []int {
	mnt, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", s.pid))
	net, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", s.pid))
	inCgroup := map[int]bool{}
	for _, rel := range s.cgroups {
		for _, pid := range cgroupProcs(rel) {
			inCgroup[pid] = true
		}
	}
	ents, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	found := map[int]bool{}
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == s.pid || pid == self {
			continue
		}
		parent[pid] = ppid(pid)
		m, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
		n, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if (mnt != "" && m == mnt) || (net != "" && n == net) || inCgroup[pid] ||
			strings.Contains(string(cmdline), s.dir) {
			found[pid] = true
		}
	}
	// Descendants: a container whose runtime put it in no cgroup of ours
	// still descends from the shim or conmon.
	for changed := true; changed; {
		changed = false
		for pid, pp := range parent {
			if !found[pid] && found[pp] {
				found[pid], changed = true, true
			}
		}
	}
	var pids []int
	for pid := range found {
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids
}

// removeCgroups removes the sandbox's cgroups, deepest first, and fails
// the test when one cannot be removed.
func (s *sandbox) removeCgroups() {
	t := s.t
	for _, rel := range s.cgroups {
		dirs, err := testenv.Live.CgroupsAt(rel)
		if err != nil {
			t.Errorf("cgroups at %s: %v", rel, err)
			continue
		}
		for _, d := range dirs {
			var all []string
			_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
				if err == nil && e.IsDir() {
					all = append(all, p)
				}
				return nil
			})
			for i := len(all) - 1; i >= 0; i-- {
				if err := syscall.Rmdir(all[i]); err != nil {
					t.Errorf("remove cgroup %s: %v", all[i], err)
				}
			}
		}
	}
}

// cgroupProcs returns the processes in the cgroup at rel and below, in
// every hierarchy.
func cgroupProcs(rel string) []int {
	dirs, _ := testenv.Live.CgroupsAt(rel)
	var pids []int
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.Name() != "cgroup.procs" {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, f := range strings.Fields(string(b)) {
				if pid, err := strconv.Atoi(f); err == nil {
					pids = append(pids, pid)
				}
			}
			return nil
		})
	}
	return pids
}

// ppid is a process's parent, 0 when it is gone.
func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

// describe names processes by PID and command line.
func describe(pids []int) string {
	var parts []string
	for _, pid := range pids {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		parts = append(parts, fmt.Sprintf("%d (%s)", pid, strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))))
	}
	return strings.Join(parts, ", ")
}

// assertNoCgroupsAt fails the test when a cgroup is left at rel: the
// engine or the runtime should have removed it.
func assertNoCgroupsAt(t *testing.T, rel string) {
	t.Helper()
	dirs, err := testenv.Live.CgroupsAt(rel)
	if err != nil {
		t.Errorf("check for cgroups left: %v", err)
	}
	if len(dirs) > 0 {
		t.Errorf("cgroups left at %s: %s", rel, strings.Join(dirs, " "))
	}
}
