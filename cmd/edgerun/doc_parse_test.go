package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// The parsing behind the docs/cli.md checks (doc_compat_test.go,
// doc_messages_test.go): markdown sections and tables, backticked spans,
// and the source of the tests a table names. Kept strict and simple: a
// table is a run of lines starting with "|", cells split at "|" (written
// "\|" inside a cell).

const (
	repoRoot = "../.."
	cliDoc   = repoRoot + "/docs/cli.md"
)

// readCLIDoc returns docs/cli.md as lines.
func readCLIDoc(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(cliDoc)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(b), "\n")
}

// section returns the lines under the heading line equal to heading, up
// to the next heading of the same or a higher level, and the line number
// (1-based) of its first line. It fails the test when there is none.
func section(t *testing.T, doc []string, heading string) (int, []string) {
	t.Helper()
	level := strings.Index(heading, " ")
	for i, l := range doc {
		if l != heading {
			continue
		}
		end := len(doc)
		for j := i + 1; j < len(doc); j++ {
			if h := headingLevel(doc[j]); h > 0 && h <= level {
				end = j
				break
			}
		}
		return i + 2, doc[i+1 : end]
	}
	t.Fatalf("%s: no section %q", cliDoc, heading)
	return 0, nil
}

// headingLevel is the number of #s of a markdown heading line, else 0.
func headingLevel(l string) int {
	n := len(l) - len(strings.TrimLeft(l, "#"))
	if n == 0 || !strings.HasPrefix(l[n:], " ") {
		return 0
	}
	return n
}

// row is one line of a markdown table below its header.
type row struct {
	line  int // in docs/cli.md
	cells []string
}

// tableRows returns the rows of the tables in lines (the first at line
// first of docs/cli.md). Every table there must have exactly header, and
// every row as many cells.
func tableRows(t *testing.T, first int, lines []string, header []string) []row {
	t.Helper()
	var rows []row
	for i, l := range lines {
		if !strings.HasPrefix(l, "|") || strings.HasPrefix(l, "|---") {
			continue
		}
		cells := splitCells(l)
		switch {
		case i == 0 || !strings.HasPrefix(lines[i-1], "|"): // a table's header
			if strings.Join(cells, " | ") != strings.Join(header, " | ") {
				t.Errorf("%s:%d: a table whose header is not | %s |", cliDoc, first+i, strings.Join(header, " | "))
			}
		case len(cells) != len(header):
			t.Errorf("%s:%d: %d cells, want %d (%s)", cliDoc, first+i, len(cells), len(header), strings.Join(header, " | "))
		default:
			rows = append(rows, row{line: first + i, cells: cells})
		}
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no table with the header | %s |", cliDoc, strings.Join(header, " | "))
	}
	return rows
}

// splitCells splits a table line into its trimmed cells; "\|" is a "|"
// inside a cell.
func splitCells(l string) []string {
	l = strings.TrimSpace(l)
	l = strings.TrimSuffix(strings.TrimPrefix(l, "|"), "|")
	parts := strings.Split(strings.ReplaceAll(l, `\|`, "\x00"), "|")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(strings.ReplaceAll(p, "\x00", "|"))
	}
	return parts
}

var backticked = regexp.MustCompile("`([^`]+)`")

// spans returns the backticked texts of s, with line breaks inside a span
// made single spaces.
func spans(s string) []string {
	var out []string
	for _, m := range backticked.FindAllStringSubmatch(s, -1) {
		out = append(out, strings.Join(strings.Fields(m[1]), " "))
	}
	return out
}

// testRef is a test named by a table: TestX (a test of e2e) or DIR.TestX
// (a test of the package in DIR, from the repository's root).
var testRef = regexp.MustCompile(`^(?:([a-z0-9_-]+(?:/[a-z0-9_-]+)*)\.)?(Test[A-Za-z0-9_]+)$`)

// testNames splits a tests cell: names separated by commas.
func testNames(cell string) []string {
	var names []string
	for _, n := range strings.Split(cell, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// testSources finds the source of test functions, one directory's test
// files parsed once.
type testSources map[string]map[string]string // dir -> test name -> source

// source returns the source of the test ref names (see testRef).
func (s testSources) source(ref string) (string, error) {
	m := testRef.FindStringSubmatch(ref)
	if m == nil {
		return "", fmt.Errorf("%q is no test name: want TestX (of e2e) or DIR.TestX", ref)
	}
	dir := m[1]
	if dir == "" {
		dir = "e2e"
	}
	if s[dir] == nil {
		funcs, err := testFuncs(filepath.Join(repoRoot, dir))
		if err != nil {
			return "", err
		}
		s[dir] = funcs
	}
	src, ok := s[dir][m[2]]
	if !ok {
		return "", fmt.Errorf("no func %s( in %s/*_test.go", m[2], dir)
	}
	return src, nil
}

// testFuncs returns the source of each func TestX of dir's test files.
func testFuncs(dir string) (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no test files in %s", dir)
	}
	funcs := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, f, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range file.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "Test") {
				funcs[fd.Name.Name] = string(src[fset.Position(fd.Pos()).Offset:fset.Position(fd.End()).Offset])
			}
		}
	}
	return funcs, nil
}

// mentions reports whether Go source holds text, as written or as a Go
// string literal escapes it.
func mentions(src, text string) bool {
	return strings.Contains(src, text) || strings.Contains(src, strings.Trim(strconv.Quote(text), `"`))
}

// findCommand returns the edgerun command at path ("image ls"), or nil.
func findCommand(root *cobra.Command, path string) *cobra.Command {
	c, rest, err := root.Find(strings.Fields(path))
	if err != nil || len(rest) > 0 || c.CommandPath() != "edgerun "+path {
		return nil
	}
	return c
}

// hasFlag reports whether c takes the flag name ("--all" or "-a").
func hasFlag(c *cobra.Command, name string) bool {
	if long, ok := strings.CutPrefix(name, "--"); ok {
		return c.Flags().Lookup(long) != nil || c.InheritedFlags().Lookup(long) != nil
	}
	short := strings.TrimPrefix(name, "-")
	if len(short) != 1 {
		return false
	}
	return c.Flags().ShorthandLookup(short) != nil || c.InheritedFlags().ShorthandLookup(short) != nil
}
