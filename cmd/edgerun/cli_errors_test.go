package main

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// execute runs the command line against a throwaway root and returns the
// exit code, stdout and stderr as main would give them.
func execute(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, "docker"))
	var stdout, stderr bytes.Buffer
	root := newRootCommand(strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
	root.SetArgs(append([]string{"--root", filepath.Join(dir, "root"), "--state", filepath.Join(dir, "state")}, args...))
	code := exitCode(root.ExecuteContext(t.Context()), &stderr)
	return code, stdout.String(), stderr.String()
}

// TestExitCodesOfCommandLineErrors: docs/cli.md's exit codes for errors of
// the command line itself, as docker gives them.
func TestExitCodesOfCommandLineErrors(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stderr []string
	}{
		{[]string{"run", "--bogus", "busybox"}, 125, []string{"unknown flag: --bogus", "See 'edgerun run --help'."}},
		{[]string{"run"}, 125, []string{"requires at least 1 arg", "See 'edgerun run --help'."}},
		{[]string{"run", "--memory", "lots", "--pull", "never", "busybox"}, 125, nil},
		{[]string{"ps", "--bogus"}, 125, []string{"unknown flag: --bogus", "See 'edgerun ps --help'."}},
		{[]string{"image", "ls", "--bogus"}, 125, []string{"See 'edgerun image ls --help'."}},
		{[]string{"bogus"}, 1, []string{`unknown command "bogus" for "edgerun"`}},
		{[]string{"lgos"}, 1, []string{"Did you mean this?\n\tlogs"}},
		{[]string{"image", "bogus"}, 1, []string{`unknown command "bogus" for "edgerun image"`}},
		{[]string{"image", "lss"}, 1, []string{"Did you mean this?\n\tls"}},
		{[]string{"volume", "bogus"}, 1, []string{`unknown command "bogus" for "edgerun volume"`}},
		{[]string{"volume", "lss"}, 1, []string{"Did you mean this?\n\tls"}},
		{[]string{"healthcheck", "bogus"}, 1, []string{`unknown command "bogus" for "edgerun healthcheck"`}},
		{[]string{"network", "bogus"}, 1, []string{`unknown command "bogus" for "edgerun network"`}},
		{[]string{"system", "bogus"}, 1, []string{`unknown command "bogus" for "edgerun system"`}},
		{[]string{"container", "bogus"}, 1, []string{`unknown command "bogus" for "edgerun container"`}},
		{[]string{"container", "run"}, 125, []string{"See 'edgerun container run --help'."}},
		{[]string{"container", "run", "--shm-size", "-1", "--pull", "never", "busybox"}, 125, []string{"--shm-size"}},
		{[]string{"run", "--expose", "80/sctp", "--pull", "never", "busybox"}, 125, []string{"--expose"}},
		{[]string{"system", "prune", "--filter", "nope=1"}, 1, []string{"invalid filter"}},
		{[]string{"system", "prune", "-f", "--volumes", "--filter", "until=1h"}, 1, []string{"until filter is not supported with --volumes"}},
		{[]string{"system", "df", "--format", "{{"}, 1, []string{"--format"}},
		{[]string{"logout"}, 0, nil},
		{[]string{"image"}, 0, nil}, // help, as docker image prints it
		{[]string{"volume"}, 0, nil},
		{[]string{"network"}, 0, nil},
		{[]string{"system"}, 0, nil},
		{[]string{"container"}, 0, nil},
		{[]string{"healthcheck"}, 125, []string{"needs a subcommand"}},
		{[]string{"--bogus"}, 125, []string{"See 'edgerun --help'."}},
		{[]string{"stop", "-t", "soon", "web"}, 125, []string{"invalid argument"}}, // a bad flag value
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := execute(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q, want it to say %q", stderr, s)
				}
			}
		})
	}
}

// TestSecondLogoutExitsZero: as docker, logging out when not logged in is
// no failure.
func TestSecondLogoutExitsZero(t *testing.T) {
	for range 2 {
		code, stdout, stderr := execute(t, "logout", "registry.example:5000")
		if code != 0 || stdout != "Not logged in to registry.example:5000\n" {
			t.Fatalf("logout: exit %d, stdout %q, stderr %q", code, stdout, stderr)
		}
	}
}

// TestEveryCommandRefusesABadFlagWith125: docs/cli.md's exit code 125 for
// a flag error of any command, with docker's hint, command by command
// (the OCI runtime face keeps runc's codes).
func TestEveryCommandRefusesABadFlagWith125(t *testing.T) {
	root := newRootCommand(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })
	root.InitDefaultCompletionCmd()
	var paths []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || (c.Parent() == root && c.Name() == "oci") {
			return
		}
		paths = append(paths, c.CommandPath())
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if len(paths) < 50 {
		t.Fatalf("only %d commands found: %v", len(paths), paths)
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			args := strings.Fields(path + " --bogus")[1:]
			code, _, stderr := execute(t, args...)
			if want := "edgerun: unknown flag: --bogus\nSee '" + path + " --help'.\n"; code != 125 || stderr != want {
				t.Errorf("%s --bogus: exit %d, stderr %q; want 125, %q", path, code, stderr, want)
			}
		})
	}
}
