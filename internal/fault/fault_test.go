package fault

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// childEnv makes the test binary act as a process with fault points
// (TestMain): it passes "step N" lines through two points, test/other
// and test/point.
const childEnv = "FAULT_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		for i := 1; i <= 5; i++ {
			Point("test/other")
			Point("test/point")
			os.Stdout.WriteString("passed " + strconv.Itoa(i) + "\n")
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestParse(t *testing.T) {
	cases := []struct {
		v    string
		name string
		n    int64 // 0: nothing armed
	}{
		{"", "", 0},
		{"run/after-record", "run/after-record", 1},
		{"run/after-record@3", "run/after-record", 3},
		{"run/after-record@0", "", 0},
		{"run/after-record@-1", "", 0},
		{"run/after-record@x", "", 0},
		{"@2", "", 0},
	}
	for _, tc := range cases {
		got := parse(tc.v, "")
		switch {
		case tc.n == 0 && got != nil:
			t.Errorf("parse(%q) armed %q@%d, want nothing", tc.v, got.name, got.n)
		case tc.n != 0 && (got == nil || got.name != tc.name || got.n != tc.n):
			t.Errorf("parse(%q) = %+v, want %s@%d", tc.v, got, tc.name, tc.n)
		}
	}
}

// runChild runs the test binary as a child with EDGERUN_FAULT=fault and
// returns its output and how it ended.
func runChild(t *testing.T, fault, log string) (string, *os.ProcessState) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", Env+"="+fault, LogEnv+"="+log)
	out, err := cmd.Output()
	if errors.Is(err, syscall.ENOEXEC) {
		// Under qemu-user (cross-test) the kernel cannot execute this
		// foreign binary without a binfmt_misc handler, which we do not
		// register; the arm64 VM and the host run these tests.
		t.Skip("cannot re-execute this test binary here (qemu-user without binfmt_misc)")
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return string(out), cmd.ProcessState
}

func TestPointKillsTheProcessAtTheNamedHit(t *testing.T) {
	log := filepath.Join(t.TempDir(), "fired")
	out, ps := runChild(t, "test/point@3", log)
	ws := ps.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", ps)
	}
	if out != "passed 1\npassed 2\n" {
		t.Errorf("child printed %q, want two passes before the third hit killed it", out)
	}
	b, err := os.ReadFile(log)
	if want := "test/point " + strconv.Itoa(ps.Pid()) + "\n"; err != nil || string(b) != want {
		t.Errorf("%s = %q, %v; want %q", LogEnv, b, err, want)
	}
}

func TestPointDoesNothingUnlessNamed(t *testing.T) {
	for _, v := range []string{"", "test/none", "test/point@6", "test/point@x"} {
		log := filepath.Join(t.TempDir(), "fired")
		out, ps := runChild(t, v, log)
		if !ps.Success() || strings.Count(out, "passed") != 5 {
			t.Errorf("%s=%q: child %v printed %q, want all five passes", Env, v, ps, out)
		}
		if _, err := os.Stat(log); err == nil {
			t.Errorf("%s=%q: a point fired", Env, v)
		}
	}
}

// TestEveryPointIsListedOnce holds points.go to the source: every
// fault.Point call of the module names a listed point with a string
// literal, no point is called from two places, and every listed point is
// called, so the suite that fires each listed point reaches every call.
func TestEveryPointIsListedOnce(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string][]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "out" || d.Name() == "bin" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Point" {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "fault" {
				return true
			}
			pos := fset.Position(call.Pos())
			rel, _ := filepath.Rel(root, pos.Filename)
			where := rel + ":" + strconv.Itoa(pos.Line)
			lit, ok := call.Args[0].(*ast.BasicLit)
			if len(call.Args) != 1 || !ok || lit.Kind != token.STRING {
				t.Errorf("%s: fault.Point needs the point's name as a string literal", where)
				return true
			}
			name, _ := strconv.Unquote(lit.Value)
			calls[name] = append(calls[name], where)
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, where := range calls {
		if !Known(name) {
			t.Errorf("%s: fault point %q is not listed in internal/fault/points.go", where[0], name)
		}
		if len(where) > 1 {
			t.Errorf("fault point %q is called from %d places (%s): give each step its own name", name, len(where), strings.Join(where, ", "))
		}
	}
	for _, p := range Points() {
		if len(calls[p.Name]) == 0 {
			t.Errorf("fault point %q is listed but never called", p.Name)
		}
	}
	if len(calls) < 10 {
		t.Fatalf("only %d fault points found under %s: the walk is broken", len(calls), root)
	}
}

// BenchmarkPointUnarmed is the cost of a point when EDGERUN_FAULT is not
// set: what every command pays per point it passes.
func BenchmarkPointUnarmed(b *testing.B) {
	if armed != nil {
		b.Skipf("%s is set in this environment", Env)
	}
	for b.Loop() {
		Point("run/after-record")
	}
}

// BenchmarkPointArmedElsewhere is the cost when another point is armed
// (the suite's runs): one string comparison more.
func BenchmarkPointArmedElsewhere(b *testing.B) {
	saved := armed
	armed = parse("load/after-ingest", "")
	defer func() { armed = saved }()
	for b.Loop() {
		Point("run/after-record")
	}
}
