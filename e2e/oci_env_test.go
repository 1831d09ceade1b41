package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/edgerun/edgerun/internal/ids"
	"github.com/edgerun/edgerun/internal/testenv"
)

// ociEnv is one test's OCI runtime: edgerun invoked as edgerun-oci (a
// symlink, as engines run it) with a private --root and --log, and a
// bundle whose root file system is a static busybox.
type ociEnv struct {
	t      *testing.T
	bin    string // the edgerun-oci symlink
	root   string
	log    string
	bundle string
	cgroup string // cgroupsPath of the bundle's containers' parent
}

func newOCIEnv(t *testing.T) *ociEnv {
	t.Helper()
	testenv.SkipRootless(t, "the OCI runtime's own tests run root bundles (a rootless engine runs it in its user namespace)")
	testenv.RequireRoot(t, "run OCI bundles")
	exe := binary(t)
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("needs a static busybox for the bundle's root file system (Debian's busybox-static; make deps)")
	}
	base := t.TempDir()
	e := &ociEnv{t: t, bin: filepath.Join(base, "edgerun-oci"), root: filepath.Join(base, "state"),
		log: filepath.Join(base, "log.json"), bundle: filepath.Join(base, "bundle")}
	if err := os.Symlink(exe, e.bin); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(e.bundle, "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"sh", "echo", "sleep", "cat", "true", "id", "ls"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", app)); err != nil {
			t.Fatal(err)
		}
	}
	id, _ := ids.New()
	e.cgroup = "/edgerun-oci-test-" + id[:12]
	t.Cleanup(e.assertClean)
	return e
}

// writeSpec writes the bundle's config.json for container id: the
// runtime's own example spec (the spec verb) without a terminal, running
// args, its cgroup under e.cgroup, changed by edit.
func (e *ociEnv) writeSpec(id string, edit func(s *specs.Spec), args ...string) {
	e.t.Helper()
	dir := e.t.TempDir()
	if out, err := exec.Command(e.bin, "spec", "--bundle", dir).CombinedOutput(); err != nil {
		e.t.Fatalf("spec: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		e.t.Fatal(err)
	}
	s.Process.Terminal = false
	s.Process.Args = args
	s.Linux.CgroupsPath = e.cgroup + "/" + id
	if edit != nil {
		edit(&s)
	}
	if b, err = json.Marshal(&s); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.bundle, "config.json"), b, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// oci runs the runtime with the global flags and args. Its stdout and
// stderr are files, not pipes: a created container keeps the runtime's
// stdio as its own (an engine passes fifos), so a pipe would not end.
func (e *ociEnv) oci(args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, append([]string{"--root", e.root, "--log", e.log, "--log-format", "json"}, args...)...)
	dir := e.t.TempDir()
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer out.Close()
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = out, errf
	err = cmd.Run()
	o, _ := os.ReadFile(out.Name())
	es, _ := os.ReadFile(errf.Name())
	return result{stdout: string(o), stderr: string(es), code: exitCode(e.t, err)}
}

func (e *ociEnv) mustOCI(args ...string) string {
	e.t.Helper()
	r := e.oci(args...)
	if r.code != 0 {
		e.t.Fatalf("edgerun-oci %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// lastLogError is the msg of the last "level":"error" line of --log.
func (e *ociEnv) lastLogError() string {
	e.t.Helper()
	b, _ := os.ReadFile(e.log)
	msg := ""
	for _, l := range strings.Split(string(b), "\n") {
		var line struct{ Level, Msg string }
		if json.Unmarshal([]byte(l), &line) == nil && line.Level == "error" {
			msg = line.Msg
		}
	}
	return msg
}

// assertClean checks that no container state, process or cgroup of the
// test is left: every container of the root is force-deleted first (a
// failed test leaves nothing either), then the checks run.
func (e *ociEnv) assertClean() {
	t := e.t
	entries, _ := os.ReadDir(e.root)
	for _, en := range entries {
		if r := e.oci("delete", "--force", en.Name()); r.code != 0 {
			t.Errorf("cleanup: delete --force %s: %s", en.Name(), r)
		}
	}
	if entries, _ := os.ReadDir(e.root); len(entries) > 0 {
		t.Errorf("the runtime's root keeps %d entries after delete: %v", len(entries), entries[0].Name())
	}
	hier, _ := filepath.Glob("/sys/fs/cgroup/*" + e.cgroup)
	unified, _ := filepath.Glob("/sys/fs/cgroup" + e.cgroup)
	for _, d := range append(hier, unified...) {
		// The test's parent cgroup itself is made by libcontainer for
		// the first container; remove it once empty, but nothing below.
		sub, _ := os.ReadDir(d)
		for _, s := range sub {
			if s.IsDir() {
				t.Errorf("cgroup %s/%s is left", d, s.Name())
			}
		}
		_ = os.Remove(d)
	}
}
