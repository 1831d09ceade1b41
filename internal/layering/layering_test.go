// Package layering holds a test that keeps the package layering of
// docs/architecture.md true: data flows cmd → runtime → (image, rootfs,
// netns, cgroups); only cmd/edgerun imports cobra; only runtime imports runc.
package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/edgerun/edgerun/"

// rule forbids packages under dir (relative to the repo) from importing any
// path with one of the prefixes.
type rule struct {
	dir       string
	forbidden []string
	why       string
}

var rules = []rule{
	{"", []string{"github.com/spf13/cobra"}, "cobra belongs to cmd/edgerun only"},
	{"", []string{"github.com/opencontainers/runc"}, "runc belongs to runtime/ only"},
	{"image", []string{module + "runtime", module + "rootfs", module + "netns", module + "cgroups", module + "cmd"}, "image knows nothing of containers or layers on disk"},
	{"rootfs", []string{module + "runtime", module + "image", module + "netns", module + "cgroups", module + "cmd"}, "rootfs knows nothing of images or containers"},
	{"netns", []string{module + "runtime", module + "image", module + "rootfs", module + "cmd"}, "netns knows nothing of images"},
	{"cgroups", []string{module + "runtime", module + "image", module + "rootfs", module + "netns", module + "cmd"}, "cgroups is a leaf"},
	{"doctor", []string{module + "runtime", module + "image", module + "rootfs", module + "netns", module + "cmd"}, "doctor reads host facts; of the layers only cgroups' detection"},
	{"internal", []string{module + "runtime", module + "image", module + "rootfs", module + "netns", module + "cgroups", module + "cmd"}, "internal holds small leaves"},
}

// allowed lists the folders that may break the first two rules.
var allowed = map[string]string{
	"github.com/spf13/cobra":         "cmd/edgerun",
	"github.com/opencontainers/runc": "runtime",
}

func TestPackageLayering(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "out" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, r := range rules {
				if r.dir != "" && !strings.HasPrefix(rel, r.dir+string(filepath.Separator)) {
					continue
				}
				for _, fb := range r.forbidden {
					if !strings.HasPrefix(p, fb) {
						continue
					}
					if a, ok := allowed[fb]; ok && r.dir == "" && strings.HasPrefix(rel, a+string(filepath.Separator)) {
						continue
					}
					t.Errorf("%s imports %s: %s", rel, p, r.why)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Fatalf("only %d Go files found under %s: the walk is broken", checked, root)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repo root not found: %v", err)
	}
}
