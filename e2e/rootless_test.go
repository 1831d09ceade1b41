package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

// requireRootless skips unless the test runs in the rootless tier.
func requireRootless(t *testing.T) {
	t.Helper()
	if !testenv.Rootless() {
		t.Skip("checks rootless mode: make test-rootless runs it as ordinary users")
	}
}

// hasSubIDs says whether the test user's session maps subordinate IDs.
func hasSubIDs(t *testing.T, e *env) bool {
	t.Helper()
	out := e.must("run", "--rm", "busybox", "cat", "/proc/self/uid_map")
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			size, _ := strconv.Atoi(f[2])
			n += size
		}
	}
	return n > 1
}

func TestRootlessContainerRootIsTheUser(t *testing.T) {
	t.Parallel()
	requireRootless(t)
	e := newEnv(t)
	e.loadBusybox()
	dir := t.TempDir()
	var me unix.Stat_t // the test user: the owner of its own temporary directory
	if err := unix.Stat(dir, &me); err != nil {
		t.Fatal(err)
	}
	uid := int(me.Uid)
	out := e.must("run", "--rm", "-v", dir+":/out", "busybox", "sh", "-c", "id -u; head -1 /proc/self/uid_map; touch /out/made")
	f := strings.Fields(out)
	if len(f) < 4 || f[0] != "0" || f[1] != "0" || f[2] != strconv.Itoa(uid) {
		t.Fatalf("inside: want uid 0 mapped to uid %d, got %q", uid, out)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "made"), &st); err != nil {
		t.Fatal(err)
	}
	if int(st.Uid) != uid {
		t.Errorf("a file the container's root made is owned by uid %d on the host, want the user's %d", st.Uid, uid)
	}
}

func TestRootlessRefusesLimitsWithoutACgroup(t *testing.T) {
	t.Parallel()
	requireRootless(t)
	if d := testenv.Delegation(); d != "" {
		t.Skipf("the cgroup %s is delegated to this user, so limits apply: TestRootlessContainersGetACgroupInTheDelegatedSubtree and the limit tests check them", d)
	}
	e := newEnv(t)
	e.loadBusybox()
	for _, flag := range [][]string{{"--memory", "64m"}, {"--pids-limit", "20"}, {"--cpus", "0.5"}, {"--cpuset-cpus", "0"},
		{"--memory-reservation", "64m"}, {"--oom-kill-disable"}} {
		r := e.run(append(append([]string{"run", "--rm", "--name", "limited"}, flag...), "busybox", "true")...)
		if r.code != 125 || !strings.Contains(r.stderr, flag[0]) || !strings.Contains(r.stderr, "cgroup") {
			t.Errorf("%s without a cgroup: want exit 125 naming the flag and the missing cgroup, got %s", flag[0], r)
		}
	}
	if ps := e.must("ps", "-aq"); strings.TrimSpace(ps) != "" {
		t.Errorf("a refused run left containers: %q", ps)
	}
}

// TestRootlessContainersGetACgroupInTheDelegatedSubtree: with a cgroup v2
// subtree delegated to the user (the VM matrix's rootless leg makes one the
// way systemd's Delegate= does), a container's cgroup is
// <delegated>/edgerun/<id>, made by the user, with its limits; rm removes it.
func TestRootlessContainersGetACgroupInTheDelegatedSubtree(t *testing.T) {
	t.Parallel()
	requireRootless(t)
	parent := testenv.Delegation()
	if parent == "" {
		t.Skip("no cgroup v2 subtree is delegated to this user, so containers get no cgroup (TestRootlessRefusesLimitsWithoutACgroup); the VM matrix's rootless leg has one")
	}
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "lim", "--pids-limit", "20", "--memory", "32m", "busybox", "sleep", "1000")
	rec := e.inspect("lim")
	dir, v2 := cgroupDir(t, rec.Pid, "pids")
	want := filepath.Join("/sys/fs/cgroup", parent, "edgerun", rec.ID)
	if !v2 || dir != want {
		t.Fatalf("the container's cgroup is %s (v2 %v), want %s in the delegated %s", dir, v2, want, parent)
	}
	for file, limit := range map[string]string{"pids.max": "20", "memory.max": "33554432"} {
		if got, err := os.ReadFile(filepath.Join(dir, file)); err != nil || strings.TrimSpace(string(got)) != limit {
			t.Errorf("%s/%s = %q (%v), want %s", dir, file, got, err, limit)
		}
	}
	var mine, made unix.Stat_t // the delegated cgroup is the user's; the container's was made by the user
	if err := unix.Stat(filepath.Join("/sys/fs/cgroup", parent), &mine); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(dir, &made); err != nil || made.Uid != mine.Uid {
		t.Errorf("the container's cgroup is owned by uid %d (%v), want the user's %d", made.Uid, err, mine.Uid)
	}
	e.must("rm", "-f", "lim")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("rm -f left the container's cgroup %s (%v)", dir, err)
	}
}

// delegatedHas says whether the cgroup delegated to the test user passes
// controller to its children (testenv.Delegation).
func delegatedHas(t *testing.T, controller string) bool {
	t.Helper()
	d := testenv.Delegation()
	if d == "" {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", d, "cgroup.controllers"))
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(strings.Fields(string(b)), controller)
}

// TestRootlessLimitOfAnUndelegatedControllerIsRefused: systemd delegates
// memory, pids and cpu to user@.service by default, not cpuset (the VM
// matrix's rootless leg delegates the same), so --cpuset-cpus is refused
// before anything is created, naming the controller and the delegation,
// instead of failing in libcontainer on a missing cpuset.cpus.
func TestRootlessLimitOfAnUndelegatedControllerIsRefused(t *testing.T) {
	t.Parallel()
	requireRootless(t)
	if testenv.Delegation() == "" || delegatedHas(t, "cpuset") {
		t.Skip("needs a cgroup delegated to this user without cpuset (the VM matrix's rootless leg has one, as systemd's default Delegate= gives)")
	}
	e := newEnv(t)
	e.loadBusybox()
	r := e.run("run", "--rm", "--cpuset-cpus", "0", "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "--cpuset-cpus needs the cpuset controller") || !strings.Contains(r.stderr, "delegated to you") {
		t.Errorf("--cpuset-cpus without cpuset delegated: want exit 125 naming the controller and the delegation, got %s", r)
	}
	if ps := e.must("ps", "-aq"); strings.TrimSpace(ps) != "" {
		t.Errorf("a refused run left containers: %q", ps)
	}
}

func TestRootlessPortBelowTheUnprivilegedStartIsRefused(t *testing.T) {
	t.Parallel()
	requireRootless(t)
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	start, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || start <= 1 {
		t.Skipf("every port may be bound by ordinary users here (%v)", err)
	}
	n := newNetEnv(t)
	n.loadBusybox()
	r := n.run("run", "--rm", "--network", "bridge", "-p", fmt.Sprintf("%d:80", start-1), "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "ip_unprivileged_port_start") {
		t.Errorf("-p %d:80: want exit 125 naming net.ipv4.ip_unprivileged_port_start, got %s", start-1, r)
	}
}

func TestRootlessDeviceIsBoundInAndAccessOtherThanRWIsRefused(t *testing.T) {
	t.Parallel()
	requireRootless(t)
	e := newEnv(t)
	e.loadBusybox()
	out := e.must("run", "--rm", "--device", "/dev/zero:/dev/myzero", "busybox", "sh", "-c", "head -c 3 /dev/myzero | od -An -tx1")
	if strings.Join(strings.Fields(out), " ") != "00 00 00" {
		t.Errorf("--device /dev/zero:/dev/myzero: read %q", out)
	}
	r := e.run("run", "--rm", "--device", "/dev/zero:/dev/myzero:r", "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "device cgroup") {
		t.Errorf("--device ...:r rootless: want exit 125 saying it cannot be enforced, got %s", r)
	}
}

func TestRootlessUserOtherThanRootNeedsSubordinateIDs(t *testing.T) {
	t.Parallel()
	requireRootless(t)
	e := newEnv(t)
	e.loadBusybox()
	if hasSubIDs(t, e) {
		out := e.must("run", "--rm", "-u", "1000:1000", "busybox", "id")
		if !strings.Contains(out, "uid=1000") {
			t.Errorf("-u 1000 with subordinate IDs: %q", out)
		}
		return
	}
	r := e.run("run", "--rm", "-u", "1000", "busybox", "id")
	if r.code != 125 || !strings.Contains(r.stderr, "subordinate IDs") {
		t.Errorf("-u 1000 with the single-ID mapping: want exit 125 saying why, got %s", r)
	}
}

func TestRootlessStatsComeFromTheContainersProcesses(t *testing.T) {
	t.Parallel()
	requireRootless(t)
	if d := testenv.Delegation(); d != "" {
		t.Skipf("the cgroup %s is delegated to this user: stats come from the container's cgroup (TestStatsReportsCPUMemoryLimitAndPids)", d)
	}
	e := newEnv(t)
	e.loadBusybox()
	e.runD("--name", "burn", "busybox", "sh", "-c", "sleep 1000 & while :; do :; done")
	var st struct {
		CPUTimeNs   uint64          `json:"cpuTimeNs"`
		CPUPercent  float64         `json:"cpuPercent"`
		MemUsage    uint64          `json:"memUsage"`
		MemLimit    uint64          `json:"memLimit"`
		MemCache    uint64          `json:"memCache"`
		MemAnon     uint64          `json:"memAnon"`
		MemKernel   *uint64         `json:"memKernel"`
		Swap        *uint64         `json:"swap"`
		MemPressure json.RawMessage `json:"memPressure"`
		Pids        uint64          `json:"pids"`
	}
	out := e.must("stats", "--no-stream", "--format", "json", "burn")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("stats --format json: %v\n%s", err, out)
	}
	if st.CPUTimeNs == 0 || st.CPUPercent <= 0 || st.MemUsage == 0 || st.MemLimit == 0 || st.Pids != 2 {
		t.Fatalf("stats of a busy rootless container with 2 processes and no cgroup: %+v", st)
	}
	// Resident memory splits into cache and anon; what only a cgroup
	// counts is left out, not 0.
	if st.MemAnon == 0 || st.MemCache+st.MemAnon != st.MemUsage || st.MemKernel != nil || st.Swap != nil || st.MemPressure != nil {
		t.Errorf("stats of a rootless container without a cgroup: %s", out)
	}
	e.must("rm", "-f", "burn")
}

// endSession ends the rootless session recorded under runDir (its holder
// and slirp4netns), as a logout would.
func endSession(t *testing.T, runDir string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(runDir, "edgerun-session", "session.json"))
	if err != nil {
		return
	}
	var s struct {
		Pid     int `json:"pid"`
		Network int `json:"network"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Errorf("session record: %v", err)
		return
	}
	for _, pid := range []int{s.Network, s.Pid} {
		if pid > 0 {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
}

func TestRootlessBrokenNewuidmapFallsBackToTheSingleIDMapping(t *testing.T) {
	t.Parallel()
	requireRootless(t)
	e := newEnv(t)
	// A session of its own, made with a newuidmap that is not setuid.
	run, fake := t.TempDir(), t.TempDir()
	for _, h := range []string{"newuidmap", "newgidmap"} {
		b, err := os.ReadFile("/usr/bin/" + h)
		if err != nil {
			t.Skipf("%s is not installed: %v", h, err)
		}
		if err := os.WriteFile(filepath.Join(fake, h), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { endSession(t, run) })
	e.extraEnv = append(e.extraEnv, "XDG_RUNTIME_DIR="+run, "PATH="+fake+":"+os.Getenv("PATH"))
	// The first command makes the session, and says what happened.
	l := e.run("load", "-i", imagePath(t, "busybox"))
	if l.code != 0 {
		t.Fatalf("load with a broken newuidmap: %s", l)
	}
	if os.Getenv(testenv.RootlessMappingEnv) == "single" {
		return // the user without subordinate IDs: newuidmap is not even tried
	}
	if !strings.Contains(l.stderr, "newuidmap") || !strings.Contains(l.stderr, "single-ID mapping") {
		t.Errorf("the fallback was not said: %s", l)
	}
	r := e.run("run", "--rm", "busybox", "cat", "/proc/self/uid_map")
	if r.code != 0 {
		t.Fatalf("run with a broken newuidmap: %s", r)
	}
	if f := strings.Fields(r.stdout); len(f) != 3 || f[2] != "1" {
		t.Errorf("want the single-ID mapping, got uid_map %q", r.stdout)
	}
}

func TestRootlessContainerReachesTheHostsLoopbackAt10_0_2_2(t *testing.T) {
	t.Parallel()
	requireRootless(t)
	// A service on the host's loopback only, as a CI job's test registry.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("hello from the host\n"))
			c.Close()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	n := newNetEnv(t)
	n.loadBusybox()
	r := n.run("run", "--rm", "--network", "bridge", "busybox", "nc", "-w", "5", "10.0.2.2", strconv.Itoa(port))
	if r.code != 0 || !strings.Contains(r.stdout, "hello from the host") {
		t.Errorf("a container reaching 127.0.0.1:%d of the host as 10.0.2.2: %s", port, r)
	}
}

func TestImageFilesKeepTheirOwnersWhereTheyCanBeMapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	img, err := mutate.AppendLayers(busyboxImage(t), layerOf(t,
		entry{name: "srv/", dir: true},
		entry{name: "srv/page.html", body: "page\n", uid: 33, gid: 33},
		entry{name: "srv/agent", body: "#!/bin/sh\n", uid: 33, gid: 33, mode: 0o4755}))
	if err != nil {
		t.Fatal(err)
	}
	load := e.run("load", "-i", writeLayout(t, img, "owned:1"))
	if load.code != 0 {
		t.Fatalf("load: %s", load)
	}
	out := e.must("run", "--rm", "owned:1", "stat", "-c", "%u:%g %a", "/srv/page.html", "/srv/agent")
	want := "33:33 644\n33:33 4755\n"
	if testenv.Rootless() && os.Getenv(testenv.RootlessMappingEnv) == "single" {
		// Only root is mapped: root owns them, and the setuid bit of a
		// file of another user does not become setuid-root. Said once.
		want = "0:0 644\n0:0 755\n"
		if !strings.Contains(load.stderr, "root owns") {
			t.Errorf("load under the single-ID mapping did not say who owns the files now: %s", load)
		}
	}
	if out != want {
		t.Errorf("owners and modes inside: got %q, want %q", out, want)
	}
}

// A named volume of a rootless root is the user's: the container's root
// (the user) writes into it, and what it makes is the user's on the host.
func TestRootlessNamedVolumeIsTheUsers(t *testing.T) {
	t.Parallel()
	requireRootless(t)
	e := volumeEnv(t)
	e.must("run", "--pull", "never", "--rm", "-v", "rv:/data", "busybox", "sh", "-c", "echo mine > /data/made")
	made := filepath.Join(e.root, "volumes", "rv", "_data", "made")
	var me, st unix.Stat_t // the test user: the owner of its own temporary directory
	if err := unix.Stat(e.base, &me); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(made, &st); err != nil {
		t.Fatalf("the volume's file is not in the root's volumes directory: %v", err)
	}
	if st.Uid != me.Uid {
		t.Errorf("%s is owned by uid %d on the host, want the user's %d", made, st.Uid, me.Uid)
	}
	if out := e.must("run", "--pull", "never", "--rm", "-v", "rv:/data", "busybox", "cat", "/data/made"); out != "mine\n" {
		t.Errorf("second container read %q", out)
	}
}
