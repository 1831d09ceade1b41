package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRoot is a persistent root with container records and an image
// index as edgerun writes them, and nothing else.
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	write := func(rel, data string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("containers/aaaa1111/record.json", `{"id":"aaaa1111","name":"web","state":"running"}`)
	write("containers/bbbb2222/record.json", `{"id":"bbbb2222","name":"worker","state":"exited"}`)
	write("containers/cccc3333/record.json", ``) // half-made: skipped
	write("networks/lab.json", `{"name":"lab","id":"`+strings.Repeat("3", 64)+`","bridge":"er_333333333333","ipam":[{"subnet":"10.91.0.0/24","gateway":"10.91.0.1"}]}`)
	write("networks/torn.json", `{"name":`) // damaged: skipped
	write("images.json", `{"version":1,"images":{"sha256:`+strings.Repeat("1", 64)+`":{"names":["docker.io/library/busybox:latest","docker.io/library/busybox:1.36"],"platform":{"architecture":"amd64","os":"linux"}},`+
		`"sha256:`+strings.Repeat("2", 64)+`":{"names":["ghcr.io/acme/sensor:v2"],"platform":{"architecture":"amd64","os":"linux"}}}}`)
	return root
}

// complete runs `edgerun --root ROOT __complete ARGS...` and returns the
// completions (without descriptions) and the directive line.
func complete(t *testing.T, root string, args ...string) ([]string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := newRootCommand(strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
	state := filepath.Join(t.TempDir(), "state")
	cmd.SetArgs(append([]string{"__complete", "--root", root, "--state", state}, args...))
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("__complete %q: %v (stderr %q)", args, err, stderr.String())
	}
	if _, err := os.Stat(state); err == nil {
		t.Fatalf("__complete %q created the state directory", args)
	}
	var out []string
	var directive string
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if strings.HasPrefix(l, ":") {
			directive = l
			continue
		}
		out = append(out, strings.SplitN(l, "\t", 2)[0])
	}
	return out, directive
}

func TestCompletion(t *testing.T) {
	root := fakeRoot(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"logs", ""}, "web worker"},
		{[]string{"logs", "wo"}, "worker"},
		{[]string{"logs", "web", ""}, ""}, // one container
		{[]string{"stop", "web", ""}, "web worker"},
		{[]string{"rm", "-f", "w"}, "web worker"},
		{[]string{"inspect", ""}, "web worker"},
		{[]string{"exec", ""}, "web worker"},
		{[]string{"kill", "-s", "TE"}, "TERM"},
		{[]string{"kill", "--signal", "SIGKI"}, "SIGKILL"},
		{[]string{"run", "--stop-signal", "US"}, "USR1 USR2"},
		{[]string{"run", ""}, "busybox:1.36 busybox:latest ghcr.io/acme/sensor:v2"},
		{[]string{"run", "--network", ""}, "bridge host none container: lab"},
		{[]string{"run", "--network", "l"}, "lab"},
		{[]string{"network", "rm", ""}, "lab"},
		{[]string{"network", "connect", "lab", "w"}, "web worker"},
		{[]string{"run", "--network", "container:w"}, "container:web container:worker"},
		{[]string{"rmi", "bu"}, "busybox:1.36 busybox:latest"},
		{[]string{"tag", "gh"}, "ghcr.io/acme/sensor:v2"},
		{[]string{"image", "rm", ""}, "busybox:1.36 busybox:latest ghcr.io/acme/sensor:v2"},
		{[]string{"healthcheck", "run", "we"}, "web"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			got, _ := complete(t, root, tt.args...)
			if strings.Join(got, " ") != tt.want {
				t.Errorf("completions %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCompletionIsSilentAndChangesNothing: a missing or damaged root
// completes nothing, prints no error and creates nothing.
func TestCompletionIsSilentAndChangesNothing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	for _, args := range [][]string{{"logs", ""}, {"rmi", ""}, {"run", "--network", "container:"}} {
		if got, _ := complete(t, missing, args...); len(got) != 0 && !(len(got) == 1 && got[0] == "") {
			t.Errorf("__complete %q with no root: %q, want nothing", args, got)
		}
		if _, err := os.Stat(missing); err == nil {
			t.Fatalf("__complete %q created the root", args)
		}
	}
	damaged := fakeRoot(t)
	if err := os.WriteFile(filepath.Join(damaged, "images.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := complete(t, damaged, "rmi", ""); len(got) != 0 && !(len(got) == 1 && got[0] == "") {
		t.Errorf("__complete rmi with a damaged index: %q, want nothing", got)
	}
	if b, _ := os.ReadFile(filepath.Join(damaged, "images.json")); string(b) != "{" {
		t.Errorf("completion repaired the image index: %q", b)
	}
}
