package compose

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// bomb is the billion laughs: ten levels of ten aliases to the level
// below, 10^9 values once expanded, used where a list is read.
func bomb(use string) string {
	var b strings.Builder
	b.WriteString("x-0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x-%d: &l%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*l%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("services:\n  s:\n    image: x\n    " + use + ": *l9\n")
	return b.String()
}

// mergeBomb nests merge keys: each level merges ten copies of the one
// below, which the walker would expand.
func mergeBomb() string {
	var b strings.Builder
	b.WriteString("x-0: &m0 {a: 1}\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x-%d: &m%d\n  <<: [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*m%d", i-1)
		}
		fmt.Fprintf(&b, "]\n  k%d: v\n", i)
	}
	b.WriteString("services:\n  s:\n    image: x\n    labels: *m9\n")
	return b.String()
}

func TestYAMLBomb(t *testing.T) {
	for name, file := range map[string]string{
		"command": bomb("command"), "labels": bomb("labels"), "environment": bomb("environment"),
		"merge": mergeBomb(),
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Parse("services.yaml", []byte(file), "/base", env)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrTooLarge", err)
			}
			if !strings.Contains(err.Error(), "YAML bomb") {
				t.Errorf("error %q does not say what it is", err)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
				t.Errorf("parsing the bomb allocated %d bytes", grew)
			}
		})
	}
}

// TestAliasesWithinBudget: aliases and merge keys that stay small work.
func TestAliasesWithinBudget(t *testing.T) {
	file := "x-env: &env {A: 1}\nx-base: &base\n  image: alpine\n  restart: always\n  environment: *env\n" +
		"services:\n  a:\n    <<: *base\n    restart: no\n  b:\n    <<: [*base]\n    user: u\n"
	p, err := Parse("services.yaml", []byte(file), "/base", env)
	if err != nil {
		t.Fatal(err)
	}
	a, b := p.Services[0], p.Services[1]
	if a.Restart != "no" || b.Restart != "always" || a.Image != "alpine" || b.User != "u" || strings.Join(a.Environment, ",") != "A=1" {
		t.Errorf("merged services: %+v %+v", a, b)
	}
}

func TestSizeCap(t *testing.T) {
	big := "services: {s: {image: a}}\n" + strings.Repeat("# padding\n", MaxFileSize/10)
	_, err := Parse("services.yaml", []byte(big), "/base", env)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "services.yaml: over 1048576 bytes") {
		t.Fatalf("Parse: err = %v, want ErrTooLarge", err)
	}
	path := filepath.Join(t.TempDir(), "services.yaml")
	if err := os.WriteFile(path, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Load: err = %v, want ErrTooLarge", err)
	}
}

func TestDeepNesting(t *testing.T) {
	file := "services: {s: {image: a, labels: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "}}"
	if _, err := Parse("services.yaml", []byte(file), "/base", env); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
}

func TestAliasCycle(t *testing.T) {
	file := "x-a: &a [1, *a]\nservices:\n  s: {image: x, command: *a}\n"
	_, err := Parse("services.yaml", []byte(file), "/base", env)
	checkErr(t, err, "", 1, "refers to its own anchor")
}
