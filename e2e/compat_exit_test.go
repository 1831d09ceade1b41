package e2e

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestCompatExitCodes: docs/cli.md's "Exit codes", row by row and command
// by command, for the cases TestDocumentedErrorMessages does not make
// (cmd/edgerun's tests check every command's flag errors).
func TestCompatExitCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	e.extraEnv = append(e.extraEnv, "DOCKER_CONFIG="+filepath.Join(e.base, "docker"))
	e.must("create", "--name", "made", "busybox", "true")
	tests := []struct {
		args   []string
		code   int
		stderr string // a part of it
	}{
		// 0: success, logout when not logged in, a group without a subcommand
		{[]string{"logout", "registry.example:5000"}, 0, ""},
		{[]string{"image"}, 0, ""},
		{[]string{"volume"}, 0, ""},
		{[]string{"network"}, 0, ""},
		{[]string{"wait", "made"}, 0, ""},
		// 1: an unknown command or subcommand
		{[]string{"bogus"}, 1, `unknown command "bogus" for "edgerun"`},
		{[]string{"image", "bogus"}, 1, `unknown command "bogus" for "edgerun image"`},
		{[]string{"volume", "bogus"}, 1, `unknown command "bogus" for "edgerun volume"`},
		{[]string{"network", "bogus"}, 1, `unknown command "bogus" for "edgerun network"`},
		{[]string{"healthcheck", "bogus"}, 1, `unknown command "bogus" for "edgerun healthcheck"`},
		// 125: a flag error, a bad flag value, every failure of run and create before the container starts
		{[]string{"run", "--bogus", "busybox"}, 125, "unknown flag: --bogus"},
		{[]string{"create", "--bogus", "busybox"}, 125, "unknown flag: --bogus"},
		{[]string{"stop", "-t", "soon", "made"}, 125, `invalid argument "soon"`},
		{[]string{"run"}, 125, "requires at least 1 arg(s)"},
		{[]string{"create"}, 125, "requires at least 1 arg(s)"},
		{[]string{"run", "--pull", "never", "nosuch"}, 125, "nosuch"},
		{[]string{"create", "--pull", "never", "nosuch"}, 125, "nosuch"},
		{[]string{"run", "--memory", "lots", "busybox"}, 125, "--memory"}, // rootless: refused as any limit
		{[]string{"create", "--memory", "1k", "busybox"}, 125, "--memory"},
		{[]string{"healthcheck"}, 125, "needs a subcommand"},
		{[]string{"healthcheck", "run", "nosuch"}, 125, "no such container: nosuch"},
		{[]string{"update", "--image", "busybox", "nosuch"}, 125, "no such container: nosuch"},
		// 126, 127: the command cannot be invoked, or is not found
		{[]string{"run", "--rm", "busybox", "/etc/passwd"}, 126, "/etc/passwd: permission denied: not an executable file"},
		{[]string{"create", "busybox", "/etc/passwd"}, 126, "/etc/passwd: permission denied: not an executable file"},
		{[]string{"run", "--rm", "busybox", "nosuchcmd"}, 127, "nosuchcmd: executable file not found in $PATH of the container"},
		{[]string{"create", "busybox", "nosuchcmd"}, 127, "nosuchcmd: executable file not found in $PATH of the container"},
		// N: the container's exit code, 128+N when killed by signal N
		{[]string{"run", "--rm", "busybox", "sh", "-c", "exit 3"}, 3, ""},
		{[]string{"run", "--rm", "--init", "busybox", "sh", "-c", "kill -9 $$"}, 137, ""}, // sh is not PID 1 here
	}
	// 1: every command that takes a container, given an unknown one
	for _, args := range [][]string{
		{"attach"}, {"cp", "nosuch:/etc/hostname", "-"}, {"exec", "nosuch", "true"}, {"inspect"}, {"kill"}, {"logs"},
		{"pause"}, {"port"}, {"rename", "nosuch", "other"}, {"restart"}, {"rm"}, {"start"}, {"stats", "--no-stream"},
		{"stop"}, {"top"}, {"unpause"}, {"wait"},
	} {
		if !strings.Contains(strings.Join(args, " "), "nosuch") {
			args = append(args, "nosuch")
		}
		tests = append(tests, struct {
			args   []string
			code   int
			stderr string
		}{args, 1, "no such container: nosuch: see edgerun ps -a\n"})
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := e.run(tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, want %d; stderr %q, want it to say %q", r.code, tc.code, r.stderr, tc.stderr)
			}
		})
	}
	if ids := strings.Fields(e.must("ps", "-aq")); len(ids) != 1 {
		t.Errorf("the refused runs and creates left containers: %d, want only made", len(ids))
	}
	e.must("rm", "made")
}
