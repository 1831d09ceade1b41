package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCheckIDRefusesPathsAndOddCharacters(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"abc", true}, {"0123abcdef", true}, {"a.b-c_d+e", true},
		{"", false}, {".", false}, {"..", false}, {"a/b", false}, {"../x", false},
		{"a b", false}, {"a\x00b", false}, {strings.Repeat("a", MaxIDLength+1), false},
	} {
		err := CheckID(tc.id)
		if (err == nil) != tc.ok {
			t.Errorf("CheckID(%q) = %v, want ok=%v", tc.id, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidID) {
			t.Errorf("CheckID(%q) = %v, not ErrInvalidID", tc.id, err)
		}
	}
}

// bundle writes a bundle with a rootfs directory and the spec, changed by
// edit, and returns its directory.
func bundle(t *testing.T, edit func(s *specs.Spec)) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{Args: []string{"sh"}, Cwd: "/"},
		Linux:   &specs.Linux{},
	}
	if edit != nil {
		edit(s)
	}
	writeJSON(t, filepath.Join(dir, "config.json"), s)
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadBundleAcceptsAValidBundle(t *testing.T) {
	dir := bundle(t, nil)
	b, err := LoadBundle(dir)
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	if b.Dir != real || b.Rootfs != filepath.Join(real, "rootfs") {
		t.Errorf("bundle %s rootfs %s, want %s and its rootfs", b.Dir, b.Rootfs, real)
	}
}

func TestLoadBundleRefusesBadInputWithTheReason(t *testing.T) {
	hook := func(p string) func(s *specs.Spec) {
		return func(s *specs.Spec) { s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: p}}} }
	}
	outside := t.TempDir()
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
		want string
	}{
		{"missing directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none") }, "no such file"},
		{"no config.json", func(t *testing.T) string { return t.TempDir() }, "config.json"},
		{"truncated", func(t *testing.T) string {
			d := bundle(t, nil)
			b, _ := os.ReadFile(filepath.Join(d, "config.json"))
			must(t, os.WriteFile(filepath.Join(d, "config.json"), b[:len(b)/2], 0o644))
			return d
		}, "truncated"},
		{"empty", func(t *testing.T) string {
			d := bundle(t, nil)
			must(t, os.WriteFile(filepath.Join(d, "config.json"), nil, 0o644))
			return d
		}, "empty"},
		{"unknown field", func(t *testing.T) string {
			d := bundle(t, nil)
			b, _ := os.ReadFile(filepath.Join(d, "config.json"))
			must(t, os.WriteFile(filepath.Join(d, "config.json"), append([]byte(`{"surprise":1,`), b[1:]...), 0o644))
			return d
		}, `unknown field "surprise"`},
		{"trailing data", func(t *testing.T) string {
			d := bundle(t, nil)
			b, _ := os.ReadFile(filepath.Join(d, "config.json"))
			must(t, os.WriteFile(filepath.Join(d, "config.json"), append(b, []byte(`{}`)...), 0o644))
			return d
		}, "after the JSON document"},
		{"no version", func(t *testing.T) string { return bundle(t, func(s *specs.Spec) { s.Version = "" }) }, "ociVersion"},
		{"version 2", func(t *testing.T) string { return bundle(t, func(s *specs.Spec) { s.Version = "2.0.0" }) }, "not supported"},
		{"no linux", func(t *testing.T) string { return bundle(t, func(s *specs.Spec) { s.Linux = nil }) }, "linux"},
		{"no process", func(t *testing.T) string { return bundle(t, func(s *specs.Spec) { s.Process = nil }) }, "process is missing"},
		{"no args", func(t *testing.T) string { return bundle(t, func(s *specs.Spec) { s.Process.Args = nil }) }, "process.args"},
		{"relative cwd", func(t *testing.T) string { return bundle(t, func(s *specs.Spec) { s.Process.Cwd = "tmp" }) }, "process.cwd"},
		{"no root", func(t *testing.T) string { return bundle(t, func(s *specs.Spec) { s.Root = nil }) }, "root.path"},
		{"missing rootfs", func(t *testing.T) string { return bundle(t, func(s *specs.Spec) { s.Root.Path = "nope" }) }, "no such file"},
		{"rootfs outside", func(t *testing.T) string { return bundle(t, func(s *specs.Spec) { s.Root.Path = "../../" }) }, "outside the bundle"},
		{"rootfs symlink outside", func(t *testing.T) string {
			d := bundle(t, func(s *specs.Spec) { s.Root.Path = "link" })
			must(t, os.Symlink(outside, filepath.Join(d, "link")))
			return d
		}, "outside the bundle"},
		{"rootfs a file", func(t *testing.T) string {
			d := bundle(t, func(s *specs.Spec) { s.Root.Path = "config.json" })
			return d
		}, "not a directory"},
		{"missing hook", func(t *testing.T) string { return bundle(t, hook("/nonexistent/hook")) }, "hooks.poststart[0]"},
		{"relative hook", func(t *testing.T) string { return bundle(t, hook("bin/true")) }, "absolute"},
		{"hook not executable", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "hook")
			must(t, os.WriteFile(p, []byte("#!/bin/sh\n"), 0o644))
			return bundle(t, hook(p))
		}, "not an executable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadBundle(tc.dir(t))
			if err == nil || !errors.Is(err, ErrInvalidBundle) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadBundle: %v; want ErrInvalidBundle saying %q", err, tc.want)
			}
		})
	}
}

func TestLoadBundleIgnoresUnknownFieldsOfANewerSpecVersion(t *testing.T) {
	d := bundle(t, func(s *specs.Spec) { s.Version = "1.9.0" })
	b, _ := os.ReadFile(filepath.Join(d, "config.json"))
	must(t, os.WriteFile(filepath.Join(d, "config.json"), append([]byte(`{"futureThing":{"a":1},`), b[1:]...), 0o644))
	if _, err := LoadBundle(d); err != nil {
		t.Fatalf("a 1.9.0 document with a property 1.3.0 lacks was refused: %v", err)
	}
	for _, v := range []string{specs.Version, "1.0.2-dev", "1.3.0"} {
		d := bundle(t, func(s *specs.Spec) { s.Version = v })
		b, _ := os.ReadFile(filepath.Join(d, "config.json"))
		must(t, os.WriteFile(filepath.Join(d, "config.json"), append([]byte(`{"futureThing":1,`), b[1:]...), 0o644))
		if _, err := LoadBundle(d); err == nil || !strings.Contains(err.Error(), "futureThing") {
			t.Errorf("version %s with an unknown property: %v", v, err)
		}
	}
}

func TestLoadBundleAllowsAnAbsoluteRootOutsideTheBundle(t *testing.T) {
	outside := t.TempDir()
	if _, err := LoadBundle(bundle(t, func(s *specs.Spec) { s.Root.Path = outside })); err != nil {
		t.Fatalf("an absolute root.path (podman's storage) was refused: %v", err)
	}
}

func TestDecodeStrictRefusesOversizedDocuments(t *testing.T) {
	big := bytes.Repeat([]byte(" "), MaxConfigSize+1)
	var v map[string]any
	if err := DecodeStrict(bytes.NewReader(big), &v); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("DecodeStrict of %d bytes: %v", len(big), err)
	}
}

func TestReadProcessAndResources(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "process.json")
	writeJSON(t, p, specs.Process{Args: []string{"ls"}, Cwd: "/"})
	if got, err := ReadProcess(p); err != nil || got.Args[0] != "ls" {
		t.Fatalf("ReadProcess: %v %v", got, err)
	}
	must(t, os.WriteFile(p, []byte(`{"args":["ls"],"cwd":"/","bogus":true}`), 0o644))
	if _, err := ReadProcess(p); !errors.Is(err, ErrInvalidDocument) {
		t.Fatalf("ReadProcess with an unknown field: %v", err)
	}
	res, err := ReadResources(strings.NewReader(`{"memory":{"limit":1048576},"pids":{"limit":10}}`), "stdin")
	if err != nil || *res.Memory.Limit != 1<<20 || *res.Pids.Limit != 10 {
		t.Fatalf("ReadResources: %+v %v", res, err)
	}
	if _, err := ReadResources(strings.NewReader(`{"memory":{"limit":"lots"}}`), "stdin"); !errors.Is(err, ErrInvalidDocument) {
		t.Fatalf("ReadResources of a string limit: %v", err)
	}
}

func TestLoggerWritesTheLinesEnginesRead(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, LogJSON)
	if err != nil {
		t.Fatal(err)
	}
	l.now = func() time.Time { return time.Date(2026, 12, 6, 1, 2, 3, 0, time.UTC) }
	l.Log("error", `bad "thing"`)
	var line struct{ Level, Msg, Time string }
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line.Level != "error" || line.Msg != `bad "thing"` || line.Time != "2026-12-06T01:02:03Z" {
		t.Fatalf("json line %q: %+v %v", buf.String(), line, err)
	}
	buf.Reset()
	l, _ = NewLogger(&buf, LogText)
	l.now = func() time.Time { return time.Date(2026, 12, 6, 1, 2, 3, 0, time.UTC) }
	l.Log("warning", "a b")
	if got, want := buf.String(), "time=\"2026-12-06T01:02:03Z\" level=warning msg=\"a b\"\n"; got != want {
		t.Fatalf("text line %q, want %q", got, want)
	}
	if _, err := NewLogger(&buf, "xml"); err == nil {
		t.Fatal("log format xml was accepted")
	}
}

func TestDefaultRoot(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if got := DefaultRoot(0, env(nil)); got != "/run/edgerun-oci" {
		t.Errorf("root: %s", got)
	}
	if got := DefaultRoot(1000, env(map[string]string{"XDG_RUNTIME_DIR": "/run/user/1000"})); got != "/run/user/1000/edgerun-oci" {
		t.Errorf("user: %s", got)
	}
	if got := DefaultRoot(1000, env(nil)); got != "/tmp/edgerun-oci-1000" {
		t.Errorf("user without XDG_RUNTIME_DIR: %s", got)
	}
}
