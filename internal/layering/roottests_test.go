package layering

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const testenvPkg = module + "internal/testenv"

// uidPackages are the packages whose Geteuid and Getuid a test could ask
// instead of calling testenv.RequireRoot.
var uidPackages = map[string]bool{"os": true, "syscall": true, "golang.org/x/sys/unix": true}

// testUse is a use of a package-level name of an imported package in a
// test file.
type testUse struct {
	dir, pos string // folder below the module root, file:line
	pkg, sel string // the imported package's path, the name used
}

// testUses returns every qualified identifier (pkg.Name) of the given
// packages that the repository's _test.go files use, calls or not.
func testUses(t *testing.T, root string, pkgs func(string) bool) []testUse {
	t.Helper()
	fset := token.NewFileSet()
	var uses []testUse
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skipDir(root, p, d) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		names := map[string]string{} // local name → import path
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if !pkgs(ip) {
				continue
			}
			name := path.Base(ip)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			if name == "." || name == "_" {
				t.Errorf("%s imports %s as %s: import it by name, so the tests' use of it can be checked", fset.Position(imp.Pos()), ip, name)
				continue
			}
			names[name] = ip
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && names[x.Name] != "" {
				pos := fset.Position(sel.Pos())
				rp, _ := filepath.Rel(root, pos.Filename)
				uses = append(uses, testUse{dir: filepath.ToSlash(rel), pos: rp + ":" + strconv.Itoa(pos.Line),
					pkg: names[x.Name], sel: sel.Sel.Name})
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return uses
}

// TestRootTestsAskTestenv keeps one way of writing a root test: no test
// outside internal/testenv asks the kernel for its user ID; it calls
// testenv.RequireRoot, by which the test VMs select the packages to run.
func TestRootTestsAskTestenv(t *testing.T) {
	uses := testUses(t, repoRoot(t), func(ip string) bool { return uidPackages[ip] })
	for _, u := range uses {
		if (u.sel == "Geteuid" || u.sel == "Getuid") && u.dir != "internal/testenv" {
			t.Errorf("%s: a test asks %s.%s: call testenv.RequireRoot(t, why) instead, so hack/vm stages the package's tests into the test VMs",
				u.pos, path.Base(u.pkg), u.sel)
		}
	}
}

// TestRootPackagesAreStaged checks that hack/vm/root-packages.sh, by which
// hack/vm/stage.sh compiles tests into the test VMs, lists exactly the
// packages whose tests call testenv.RequireRoot: none is left out of the
// VMs, and none is carried there without a root test.
func TestRootPackagesAreStaged(t *testing.T) {
	root := repoRoot(t)
	var want []string
	for _, u := range testUses(t, root, func(ip string) bool { return ip == testenvPkg }) {
		if u.sel == "RequireRoot" && !slices.Contains(want, u.dir) {
			want = append(want, u.dir)
		}
	}
	slices.Sort(want)
	if len(want) < 5 {
		t.Fatalf("only %q call testenv.RequireRoot: the search is broken", want)
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go tool is not on PATH (a test binary run on its own): root-packages.sh needs it")
	}
	cmd := exec.Command("sh", filepath.Join(root, "hack/vm/root-packages.sh"))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Skipf("hack/vm/root-packages.sh cannot run here (%v: %s): stage.sh fails on its own when it cannot", err, stderr)
	}
	got := strings.Fields(string(out))
	slices.Sort(got)
	for _, dir := range want {
		if !slices.Contains(got, dir) {
			t.Errorf("the tests of %s call testenv.RequireRoot, but hack/vm/root-packages.sh (stage.sh's list) leaves it out of the test VMs", dir)
		}
	}
	for _, dir := range got {
		if !slices.Contains(want, dir) {
			t.Errorf("hack/vm/root-packages.sh stages %s into the test VMs, but no test of it calls testenv.RequireRoot", dir)
		}
	}
}

// TestTestenvOnlyInTests keeps internal/testenv (root checks, leftover
// checks, nftables) out of every binary: only _test.go files import it.
func TestTestenvOnlyInTests(t *testing.T) {
	for dir, p := range scan(t, repoRoot(t)) {
		if p.code[testenvPkg] {
			t.Errorf("%s imports %s outside its tests: it is for tests only", dir, testenvPkg)
		}
	}
}
