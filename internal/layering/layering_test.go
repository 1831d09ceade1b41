// Package layering holds tests that keep the package layering of
// docs/architecture.md true: data flows cmd → container → (specgen, images,
// netns, cgroups, logfile, restart), images → (image, rootfs); only cmd/edgerun
// imports cobra; only container imports runc; the spec generator reaches
// neither runc nor cgo, even through other packages. Its root tests check
// that tests needing root say so one way (internal/testenv) and that the
// test VMs carry all of them.
package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/edgerun/edgerun/"

// layers lists, for every folder of library code, the module's packages
// it may import directly; a folder missing here fails the test, so a new
// package is placed in the layering on purpose. Test files follow the
// same rules, except that they may also use internal/testenv.
var layers = map[string][]string{
	"cmd/edgerun": {"*"}, // the CLI calls every library
	"container": {"specgen", "images", "image", "rootfs", "netns", "cgroups", "logfile", "restart", "terminal",
		"internal/atomicfile", "internal/lockfile", "internal/containerinit", "internal/statedir", "internal/ids",
		"internal/fault", "rootless", "oci", "volumes", "health", "internal/proctable", "events", "apparmor", "sigpolicy"},
	"specgen":  {"cgroups", "internal/containerinit", "internal/ids"},
	"services": {"container", "restart", "compose", "health", "images", "internal/fault", "doctor"},
	"images":   {"image", "rootfs", "events", "sigpolicy", "internal/atomicfile", "internal/lockfile", "internal/fault"},
	"image":    {"sigpolicy", "internal/armcpu", "internal/atomicfile", "internal/diskspace", "internal/lockfile", "internal/fault"},
	"rootfs":   {"internal/atomicfile", "internal/diskspace", "internal/lockfile", "internal/fault"},
	"netns":    {"internal/atomicfile", "internal/lockfile", "internal/fault", "internal/ids"},
	"cgroups":  {},
	"logfile":  {},
	"oci":      {},
	"compose":  {"internal/ids"},
	"restart":  {},
	"health":   {},
	"terminal": {},
	"relay":    {},
	"rootless": {"internal/atomicfile", "internal/lockfile"},
	"volumes":  {"internal/atomicfile", "internal/lockfile", "internal/ids"},
	"doctor":   {"cgroups", "internal/armcpu", "rootless", "apparmor"},
	"apparmor": {"internal/atomicfile", "internal/lockfile"},
	"events":   {},
	// sigpolicy only computes: the policy file, scopes, signature checks.
	"sigpolicy": {},

	"internal/armcpu":        {},
	"internal/atomicfile":    {},
	"internal/ids":           {},
	"internal/statedir":      {"internal/atomicfile", "internal/fault"},
	"internal/lockfile":      {},
	"internal/diskspace":     {},
	"internal/containerinit": {},
	"internal/testenv":       {},
	"internal/fault":         {},
	"internal/layering":      {},
	"internal/gotmpl":        {},
	"internal/proctable":     {},

	// Tools, benchmarks and tests of the whole: anything below cmd/edgerun.
	"e2e":                  {"*"},
	"e2e/reliability":      {"*"},
	"e2e/engines":          {},
	"bench/cmd/unpack":     {"*"},
	"bench/cmd/mklayers":   {"*"},
	"bench/cmd/pullresume": {"*"},
	"bench/cmd/pulltime":   {"*"},
	"bench/cmd/proctime":   {"*"},
	"bench/cmd/updategap":  {"*"},
	"bench/cmd/scalesvg":   {"*"},
	"bench/cmd/vmbench":    {"*"},
	"hack/mkimage":         {"*"},
	"testdata/sensor":      {},
}

// testLayers are the module's packages a folder's tests may import besides
// its layers entry (and internal/testenv, which every test may use).
var testLayers = map[string][]string{
	"relay": {"logfile"}, // the C monitor's log is held to logfile's writer
}

// owners are outside modules only one folder may import.
var owners = map[string]string{
	"github.com/spf13/cobra":         "cmd/edgerun",
	"github.com/spf13/pflag":         "cmd/edgerun",
	"github.com/opencontainers/runc": "container",
}

// pkgImports is what the Go files of one folder import, tests apart.
type pkgImports struct {
	code, test map[string]bool
	doc        bool // a file has a package doc comment
	main       bool
	hasCode    bool // files besides tests
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repo root not found: %v", err)
	}
	return root
}

// skipDir reports whether the walk of the repository skips a directory:
// git's, build outputs, and testdata below the top level (the module's
// own Go programs are in the top-level testdata).
func skipDir(root, path string, d fs.DirEntry) bool {
	return d.IsDir() && (d.Name() == ".git" || d.Name() == "out" || d.Name() == "bin" ||
		(d.Name() == "testdata" && path != filepath.Join(root, "testdata")))
}

// scan parses the imports of every Go file of the repository by folder.
func scan(t *testing.T, root string) map[string]*pkgImports {
	t.Helper()
	fset := token.NewFileSet()
	pkgs := map[string]*pkgImports{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if skipDir(root, path, d) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		p := pkgs[rel]
		if p == nil {
			p = &pkgImports{code: map[string]bool{}, test: map[string]bool{}}
			pkgs[rel] = p
		}
		isTest := strings.HasSuffix(path, "_test.go")
		if !isTest {
			p.hasCode = true
			p.doc = p.doc || f.Doc != nil
			p.main = p.main || f.Name.Name == "main"
		}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if isTest {
				p.test[ip] = true
			} else {
				p.code[ip] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("only %d Go folders found under %s: the walk is broken", len(pkgs), root)
	}
	return pkgs
}

func TestPackageLayering(t *testing.T) {
	for dir, p := range scan(t, repoRoot(t)) {
		allowed, known := layers[dir]
		if !known {
			t.Errorf("%s is not in the layering: add it to layers in %s and to docs/architecture.md", dir, "internal/layering")
			continue
		}
		check := func(imports map[string]bool, test bool) {
			for ip := range imports {
				for owner, folder := range owners {
					if (ip == owner || strings.HasPrefix(ip, owner+"/")) && dir != folder {
						t.Errorf("%s imports %s: only %s may (one owner per outside dependency)", dir, ip, folder)
					}
				}
				mod, ok := strings.CutPrefix(ip, module)
				if !ok || slices.Contains(allowed, "*") || slices.Contains(allowed, mod) || mod == dir {
					continue
				}
				if test && (mod == "internal/testenv" || slices.Contains(testLayers[dir], mod)) {
					continue
				}
				t.Errorf("%s imports %s: %s may import only %v of this module", dir, ip, dir, allowed)
			}
		}
		check(p.code, false)
		check(p.test, true)
	}
}

// TestSpecGeneratorIsPure follows the spec generator's imports through
// the module: nothing it reaches imports runc, cgo or the lifecycle.
func TestSpecGeneratorIsPure(t *testing.T) {
	pkgs := scan(t, repoRoot(t))
	seen := map[string]bool{}
	var walk func(dir string, path []string)
	walk = func(dir string, path []string) {
		if seen[dir] {
			return
		}
		seen[dir] = true
		p := pkgs[dir]
		if p == nil {
			t.Fatalf("%s (reached by %v) has no Go files", dir, path)
		}
		for ip := range p.code {
			if ip == "C" || strings.HasPrefix(ip, "github.com/opencontainers/runc") {
				t.Errorf("the spec generator reaches %s through %v", ip, append(path, dir))
			}
			if mod, ok := strings.CutPrefix(ip, module); ok {
				walk(mod, append(path, dir))
			}
		}
	}
	walk("specgen", nil)
	for _, forbidden := range []string{"container", "relay", "cmd/edgerun"} {
		if seen[forbidden] {
			t.Errorf("the spec generator reaches %s", forbidden)
		}
	}
}

// TestPureDependenciesOutsideTheModule asks the go tool for the complete
// dependencies (other modules and the standard library included) of the
// packages that must build without cgo.
func TestPureDependenciesOutsideTheModule(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH (a test binary run on its own): TestSpecGeneratorIsPure covers the module's packages")
	}
	for _, pkg := range []string{"specgen", "logfile", "cgroups", "restart", "health"} {
		cmd := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}", "./"+pkg)
		cmd.Dir = repoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("go list cannot run here (%v): TestSpecGeneratorIsPure covers the module's packages", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			ip, cgo, _ := strings.Cut(line, " ")
			if strings.HasPrefix(ip, "github.com/opencontainers/runc") {
				t.Errorf("%s depends on %s", pkg, ip)
			}
			// The standard library's cgo (net, os/user, runtime/cgo) is
			// chosen by build tags, not by our imports.
			if cgo != "0" && strings.Contains(ip, ".") {
				t.Errorf("%s depends on %s, which uses cgo", pkg, ip)
			}
		}
	}
}

// TestLibraryPackagesSayWhatTheyOwn requires a package doc comment on every
// library package: what it owns and what it may not import.
func TestLibraryPackagesSayWhatTheyOwn(t *testing.T) {
	for dir, p := range scan(t, repoRoot(t)) {
		if p.main || !p.hasCode {
			continue // commands, and test-only folders
		}
		if !p.doc {
			t.Errorf("package %s has no doc comment: say what it owns and what it may not import", dir)
		}
	}
}
