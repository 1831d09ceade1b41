package compose

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, data string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadEnvFile(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "conf/a.env", "# comment\n\nA=from-a\nB = 'quoted value'\nexport C=\"x y\"\nHOME\nNOPE\nD=1=2\n")
	write(t, dir, "b.env", "A=from-b\n")
	path := write(t, dir, "services.yaml", "services:\n  s:\n    image: a\n"+
		"    environment: {D: from-environment}\n    env_file: [conf/a.env, b.env]\n    volumes: ['./data:/data']\n"+
		"  t:\n    image: a\n    env_file: conf/a.env\n")
	p, err := Load(path, env)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=from-b", "B=quoted value", "C=x y", "D=from-environment", "HOME=/home/u"}
	if got := p.Services[0].Environment; !reflect.DeepEqual(got, want) {
		t.Errorf("environment = %q, want %q", got, want)
	}
	if got := p.Services[1].Environment[0]; got != "A=from-a" {
		t.Errorf("t's environment starts with %q", got)
	}
	if got := p.Services[0].Volumes[0].Source; got != filepath.Join(dir, "data") {
		t.Errorf("bind source = %q, want it beside the file", got)
	}
}

func TestEnvFileErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bad.env", "A=1\nnot a key=1\n")
	path := write(t, dir, "services.yaml", "services:\n  s:\n    image: a\n    env_file:\n      - bad.env\n")
	_, err := Load(path, env)
	if err == nil || !strings.Contains(err.Error(), "services.s.env_file[0]: line 5: env file ") ||
		!strings.Contains(err.Error(), `bad.env: line 2: want KEY=VALUE, got "not a key=1"`) {
		t.Fatalf("err = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), env); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file: %v, want a not-exist error", err)
	}
}

func TestWarnings(t *testing.T) {
	p, err := Parse("services.yaml", []byte("name: demo\nversion: '3.8'\nservices:\n  s:\n    image: alpine:${NOPE}\n"), "/base", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "demo" || p.Services[0].Image != "alpine:" {
		t.Errorf("project %+v", p)
	}
	want := []string{`services.yaml: services.s.image: line 5: variable NOPE is not set: using ""`}
	if !reflect.DeepEqual(p.Warnings, want) {
		t.Errorf("warnings = %q, want %q", p.Warnings, want)
	}
}

func TestOrder(t *testing.T) {
	file := "services:\n" +
		"  web: {image: x, depends_on: {api: {condition: service_healthy}, cache: null}}\n" +
		"  api: {image: x, depends_on: [db]}\n" +
		"  cache: {image: x}\n" +
		"  db: {image: x}\n" +
		"  lone: {image: x}\n"
	p, err := Parse("services.yaml", []byte(file), "/base", env)
	if err != nil {
		t.Fatal(err)
	}
	order, err := p.Order()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(order), "cache, db, api, web, lone"; got != want {
		t.Errorf("order = %s, want %s", got, want)
	}
	if d := p.Services[0].DependsOn; d[0].Condition != "service_healthy" || d[1].Condition != "service_started" {
		t.Errorf("depends_on = %+v", d)
	}
	p.Services[3].DependsOn = []Dependency{{Service: "web"}}
	if _, err := p.Order(); err == nil {
		t.Error("Order of a cycle made by hand: no error")
	}
}

func TestDigest(t *testing.T) {
	a := "volumes: {v: {}}\nservices:\n  d: {image: x}\n  s:\n    image: alpine\n" +
		"    environment: {A: 1, B: 2}\n    labels: [x=1, y=2]\n    ports: ['80:80', '81:81']\n" +
		"    volumes: ['v:/v', '/h:/h']\n    cap_add: [A, B]\n    depends_on: [d]\n    command: [a, b]\n"
	b := "services:\n  d: {image: x}\n\n\n  s:\n    command: [a, b]\n    cap_add: [B, A]\n" +
		"    volumes: ['/h:/h', 'v:/v']\n    ports: ['81:81', '80:80']\n    labels: {y: '2', x: '1'}\n" +
		"    environment: [B=2, A=1]\n    image: alpine\n    depends_on: {d: {condition: service_started}}\nvolumes: {v: }\n"
	digest := func(file string) string {
		t.Helper()
		p, err := Parse("services.yaml", []byte(file), "/base", env)
		if err != nil {
			t.Fatal(err)
		}
		return p.Services[1].Digest()
	}
	da := digest(a)
	if !strings.HasPrefix(da, "sha256:") || len(da) != 71 {
		t.Fatalf("digest %q", da)
	}
	if db := digest(b); db != da {
		t.Errorf("the same service written differently: %s != %s", db, da)
	}
	for _, change := range []struct{ from, to string }{
		{"A: 1", "A: 3"}, {"x=1", "x=3"}, {"'80:80'", "'90:80'"}, {"[a, b]", "[b, a]"}, {"'/h:/h'", "'/h:/h:ro'"},
		{"image: alpine", "image: alpine:3"}, {"cap_add: [A, B]", "cap_add: [A]"},
		{"depends_on: [d]", "depends_on: {d: {condition: service_healthy}}"},
		{"image: alpine\n", "image: alpine\n    mem_reservation: 64m\n"}, {"image: alpine\n", "image: alpine\n    oom_kill_disable: true\n"},
	} {
		if d := digest(strings.Replace(a, change.from, change.to, 1)); d == da {
			t.Errorf("%s -> %s: the digest did not change", change.from, change.to)
		}
	}
}

// TestDigestOfAServiceWithoutTheNewKeysIsKept: a key added to apply must
// not change the digest of services that do not use it, or the first
// apply after an upgrade would replace every container. The digest here
// is the one this service had before mem_reservation and
// oom_kill_disable existed.
func TestDigestOfAServiceWithoutTheNewKeysIsKept(t *testing.T) {
	file := "services:\n  web:\n    image: busybox:1.36\n    command: [httpd, -f]\n    environment: {A: b}\n" +
		"    ports: ['8080:80']\n    mem_limit: 64m\n    cpus: 0.5\n    pids_limit: 50\n    restart: always\n"
	p, err := Parse("s.yaml", []byte(file), "/base", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Services[0].Digest(), "sha256:907ba2256b338b2b225d35ef49d527a83e748446ac405c90bb32bf8836016c2d"; got != want {
		t.Fatalf("digest = %s, want %s", got, want)
	}
}
