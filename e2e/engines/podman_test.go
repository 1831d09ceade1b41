package engines

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// podmanRef is the name podman load gives the busybox layout.
const podmanRef = "localhost/busybox:latest"

// podman is Debian's podman with storage, run state, locks, events and
// network configuration of the test's own, in a sandbox, with rt as its
// OCI runtime (conmon runs it).
type podman struct {
	sb     *sandbox
	rt     ociRuntime
	dir    string
	parent string // the containers' --cgroup-parent
}

// podmanStorage keeps podman's images and containers under the test's
// directory.
const podmanStorage = `[storage]
driver = "overlay"
graphroot = %q
runroot = %q
`

// podmanConfig is the whole containers.conf (CONTAINERS_CONF replaces the
// host's): no systemd here, so cgroupfs and events to a file; file locks
// (the default shm lock, /dev/shm/libpod_lock, is shared with the host's
// podman); the CNI backend with a network of the test's own; and nofile
// and nproc limits within the hard limits podman runs under (its default
// nofile, 1048576, makes the runtime's setrlimit fail with EPERM).
const podmanConfig = `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %[1]q
lock_type = "file"
tmp_dir = %[2]q
volume_path = %[3]q

[network]
network_backend = "cni"
network_config_dir = %[4]q
default_network = "edgerun-engines"
`

// podmanNetwork is a CNI bridge network in the sandbox's network
// namespace, with published ports (portmap) and its IPAM leases in the
// test's directory.
const podmanNetwork = `{
  "cniVersion": "0.4.0",
  "name": "edgerun-engines",
  "plugins": [
    {"type": "bridge", "bridge": "erengines0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "routes": [{"dst": "0.0.0.0/0"}], "dataDir": %q,
              "ranges": [[{"subnet": "10.89.77.0/24", "gateway": "10.89.77.1"}]]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall", "backend": "iptables"},
    {"type": "tuning"}
  ]
}
`

// startPodman prepares podman in a new sandbox and loads the busybox
// layout. Cleanup removes what a failing test left, the way a user would.
func startPodman(t *testing.T, rt ociRuntime, layout string) *podman {
	t.Helper()
	dir := t.TempDir()
	p := &podman{rt: rt, dir: dir, parent: fmt.Sprintf("/edgerun-engines-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)}
	p.sb = newSandbox(t, dir)
	p.sb.cgroups = []string{p.parent}
	files := map[string]string{
		"storage.conf":                 fmt.Sprintf(podmanStorage, filepath.Join(dir, "root"), filepath.Join(dir, "runroot")),
		"containers.conf":              fmt.Sprintf(podmanConfig, filepath.Join(dir, "events.log"), filepath.Join(dir, "tmp"), filepath.Join(dir, "volumes"), filepath.Join(dir, "cni")),
		"cni/edgerun-engines.conflist": fmt.Sprintf(podmanNetwork, filepath.Join(dir, "ipam")),
	}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.sb.env = []string{"CONTAINERS_CONF=" + filepath.Join(dir, "containers.conf"),
		"CONTAINERS_STORAGE_CONF=" + filepath.Join(dir, "storage.conf")}
	t.Cleanup(func() { p.cleanup(t) })
	tarball, err := tarLayout(layout)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "busybox.tar")
	if err := os.WriteFile(archive, tarball, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := p.podman("load", "-i", archive); r.code != 0 {
		t.Fatalf("podman load: %v", r)
	}
	return p
}

// podman runs podman with args in the sandbox, with the runtime under test.
func (p *podman) podman(args ...string) result {
	return p.sb.run("podman", append([]string{"--runtime", p.rt.path}, args...)...)
}

// cleanup removes the containers a failing test left, and fails the test
// if there were any.
func (p *podman) cleanup(t *testing.T) {
	r := p.podman("ps", "-aq")
	if ids := strings.Fields(r.stdout); len(ids) > 0 {
		t.Errorf("containers left at the end of the test, removing them: %s", strings.Join(ids, " "))
		if r := p.podman("rm", "-f", "-t", "0", "--all"); r.code != 0 {
			t.Errorf("podman rm -af: %v", r)
		}
	}
}

// TestPodman drives edgerun-oci (and runc) from podman through conmon:
// run --rm, run -d with a published port, exec, logs, stop and rm.
func TestPodman(t *testing.T) {
	layout := requireSetup(t, "run containers through a podman of its own", "podman", "conmon", "iptables-save")
	forEachRuntime(t, func(t *testing.T, rt ociRuntime) {
		p := startPodman(t, rt, layout)
		t.Run("RunRmPassesOutputAndExitCode", p.testRunRm)
		t.Run("DetachedPublishedPortExecLogsStopRm", p.testDetached)
	})
}

func (p *podman) testRunRm(t *testing.T) {
	r := p.podman("run", "--rm", "--cgroup-parent", p.parent, podmanRef, "sh", "-c", "echo out; echo err >&2; exit 3")
	if r.code != 3 || strings.TrimSpace(r.stdout) != "out" || strings.TrimSpace(r.stderr) != "err" {
		t.Errorf("want exit 3, stdout out, stderr err; got %v", r)
	}
	if r := p.podman("ps", "-aq"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("podman run --rm left a container: %v", r)
	}
	p.assertNetworkClean(t, "")
}

// webScript serves a page with busybox httpd and ends with exit code 7 on
// SIGTERM.
const webScript = `trap 'echo got-term; exit 7' TERM
mkdir -p /www && echo hello-from-the-container > /www/index.html && httpd -p 8080 -h /www && echo serving
while true; do sleep 0.1; done`

func (p *podman) testDetached(t *testing.T) {
	const port = "18080" // in the sandbox's own network namespace: never taken
	r := p.podman("run", "-d", "--name", "web", "--cgroup-parent", p.parent, "-p", "127.0.0.1:"+port+":8080",
		podmanRef, "sh", "-c", webScript)
	if r.code != 0 {
		t.Fatalf("podman run -d: %v", r)
	}
	id := strings.TrimSpace(r.stdout)
	if !eventually(10*time.Second, func() bool { return strings.Contains(p.podman("logs", "web").stdout, "serving") }) {
		t.Fatalf("the container did not print serving within 10s: %v", p.podman("logs", "web"))
	}
	r = p.podman("inspect", "-f", "{{.State.Pid}} {{.GraphDriver.Data.MergedDir}}", "web")
	f := strings.Fields(r.stdout)
	if len(f) != 2 {
		t.Fatalf("podman inspect: %v", r)
	}
	pid, _ := strconv.Atoi(f[0])
	merged := f[1]
	assertRuntimeOwns(t, p.sb, p.rt, "", id, pid) // conmon passes no --root: the runtime's default
	if cg := readFile(fmt.Sprintf("/proc/%d/cgroup", pid)); !strings.Contains(cg, p.parent+"/libpod-"+id) {
		t.Errorf("the container's init is not in the cgroup podman asks for (%s/libpod-%s):\n%s", p.parent, id, cg)
	}
	if r = p.podman("ps", "--format", "{{.Names}} {{.Status}}"); !strings.Contains(r.stdout, "web Up") {
		t.Errorf("podman ps does not show web up: %v", r)
	}

	r = p.podman("exec", "web", "sh", "-c", "echo from-exec; exit 4")
	if r.code != 4 || strings.TrimSpace(r.stdout) != "from-exec" {
		t.Errorf("podman exec: want exit 4 and from-exec; got %v", r)
	}
	var page string
	var err error
	eventually(10*time.Second, func() bool {
		page, err = p.sb.fetch("127.0.0.1:"+port, "/index.html")
		return err == nil
	})
	if err != nil || !strings.HasSuffix(page, "\r\n\r\nhello-from-the-container\n") {
		t.Errorf("the published port 127.0.0.1:%s does not serve the container's page: %v\n%s", port, err, page)
	}

	r = p.podman("stop", "-t", "20", "web")
	if r.code != 0 {
		t.Errorf("podman stop: %v", r)
	}
	if r = p.podman("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "web"); strings.TrimSpace(r.stdout) != "exited 7" {
		t.Errorf("after stop, want exited 7 (the TERM trap's exit code); got %v", r)
	}
	if r = p.podman("logs", "web"); !strings.Contains(r.stdout, "got-term") {
		t.Errorf("podman logs: no got-term from the TERM trap: %v", r)
	}
	if r = p.podman("rm", "web"); r.code != 0 {
		t.Errorf("podman rm: %v", r)
	}
	assertNoCgroupsAt(t, p.parent+"/libpod-"+id)
	p.sb.assertNoMountsUnder(t, merged)
	p.assertNetworkClean(t, id)
}

// assertNetworkClean checks that the sandbox's network namespace holds
// nothing of podman's containers any more: no veth, no netns file, no
// iptables rule naming container id (when given).
func (p *podman) assertNetworkClean(t *testing.T, id string) {
	t.Helper()
	r := p.sb.run("ip", "-o", "link", "show", "type", "veth")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "" {
		t.Errorf("veths left in the sandbox: %v", r)
	}
	if ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/root/run/netns", p.sb.pid)); len(ents) > 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("netns files left in the sandbox's /run/netns: %s", strings.Join(names, " "))
	}
	if id == "" {
		return
	}
	r = p.sb.run("iptables-save")
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, id) {
			t.Errorf("iptables rule left for container %s: %s", id, line)
		}
	}
}
