package engines

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgerun/edgerun/internal/testenv"
)

// cmdTimeout bounds every command a test runs; a hung engine fails the
// test instead of hanging it.
const cmdTimeout = 60 * time.Second

var suite struct {
	tmp string // scratch directory for the edgerun-oci symlink and a built edgerun

	binOnce sync.Once
	oci     string // the edgerun-oci symlink
	binErr  error
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "edgerun-engines-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "engines:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	suite.tmp = tmp
	return m.Run()
}

// ociRuntime is an OCI runtime the engines are told to use.
type ociRuntime struct {
	name string // runc or edgerun-oci: the subtest's name
	path string
}

// runtimes returns the runtimes every engine test runs with: Debian's runc
// (the control: a failure there is the harness's) and edgerun-oci. A
// runtime that is missing is returned with an empty path; its subtest
// skips with the reason.
func runtimes(t *testing.T) []ociRuntime {
	t.Helper()
	runc, _ := exec.LookPath("runc")
	if runc == "" {
		runc, _ = exec.LookPath("/usr/sbin/runc")
	}
	return []ociRuntime{{"runc", runc}, {"edgerun-oci", edgerunOCI(t)}}
}

// forEachRuntime runs f as one subtest per runtime.
func forEachRuntime(t *testing.T, f func(t *testing.T, rt ociRuntime)) {
	for _, rt := range runtimes(t) {
		t.Run(rt.name, func(t *testing.T) {
			if rt.path == "" {
				t.Skipf("%s is not installed: make deps installs it", rt.name)
			}
			f(t, rt)
		})
	}
}

// edgerunOCI returns a symlink named edgerun-oci to the edgerun binary:
// EDGERUN_BIN (make test's bin/edgerun), or one built once from this
// checkout when that is not set.
func edgerunOCI(t *testing.T) string {
	t.Helper()
	suite.binOnce.Do(func() {
		bin := os.Getenv("EDGERUN_BIN")
		if bin == "" {
			bin = filepath.Join(suite.tmp, "edgerun")
			cmd := exec.Command("go", "build", "-tags", "seccomp osusergo netgo", "-o", bin, "../../cmd/edgerun")
			if out, err := cmd.CombinedOutput(); err != nil {
				suite.binErr = fmt.Errorf("build edgerun (EDGERUN_BIN is not set): %w\n%s", err, out)
				return
			}
		}
		if _, err := os.Stat(bin); err != nil {
			suite.binErr = fmt.Errorf("edgerun binary: %w: run via make test, or set EDGERUN_BIN", err)
			return
		}
		abs, err := filepath.Abs(bin)
		if err != nil {
			suite.binErr = err
			return
		}
		suite.oci = filepath.Join(suite.tmp, "bin", "edgerun-oci")
		if err := os.MkdirAll(filepath.Dir(suite.oci), 0o755); err != nil {
			suite.binErr = err
			return
		}
		suite.binErr = os.Symlink(abs, suite.oci)
	})
	if suite.binErr != nil {
		t.Fatal(suite.binErr)
	}
	return suite.oci
}

// requireTools skips the test unless every tool is on PATH.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: make deps installs it (hack/deps.sh test)", tool)
		}
	}
}

// requireSetup skips unless the engine tests can run here: as root, with
// the test images and the tools given. It returns the busybox layout.
func requireSetup(t *testing.T, why string, tools ...string) string {
	t.Helper()
	testenv.RequireRoot(t, why)
	requireTools(t, append([]string{"unshare", "nsenter", "ip", "mount"}, tools...)...)
	layout := filepath.Join(testenv.RequireImages(t), "busybox")
	if _, err := os.Stat(filepath.Join(layout, "index.json")); err != nil {
		t.Skipf("test image busybox is missing (%v): run make images", err)
	}
	return layout
}

// result is what a command did.
type result struct {
	args           []string
	stdout, stderr string
	code           int // exit code; -1 when it did not run or was killed
	err            error
}

func (r result) String() string {
	return fmt.Sprintf("%s: exit %d (%v)\nstdout: %s\nstderr: %s",
		strings.Join(r.args, " "), r.code, r.err, strings.TrimSpace(r.stdout), strings.TrimSpace(r.stderr))
}

// run runs cmd (with cmdTimeout), its stdin from stdin when not nil.
func run(cmd *exec.Cmd, stdin []byte) result {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	r := result{args: cmd.Args, stdout: out.String(), stderr: errb.String(), code: -1, err: err}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	return r
}

// assertRuntimeOwns checks that the runtime under test, asked the way an
// engine asks (rt state ID, with the engine's --root when it passes one),
// knows the container as running with init process pid: the engine
// really used it.
func assertRuntimeOwns(t *testing.T, sb *sandbox, rt ociRuntime, root, id string, pid int) {
	t.Helper()
	var args []string
	if root != "" {
		args = append(args, "--root", root)
	}
	r := sb.run(rt.path, append(args, "state", id)...)
	var st struct {
		Status string `json:"status"`
		Pid    int    `json:"pid"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); r.code != 0 || err != nil {
		t.Errorf("%s state %s: %v (%v)", rt.name, id, r, err)
		return
	}
	if st.Status != "running" || st.Pid != pid {
		t.Errorf("%s state %s: status %s, pid %d; want running, pid %d", rt.name, id, st.Status, st.Pid, pid)
	}
}

// eventually polls cond every 50ms until it is true or d passes.
func eventually(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}
