package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// entrypointFixture is a root file system and a volume directory:
//
//	rootfs/bin/sh           executable script (#!/bin/sh, itself)
//	rootfs/bin/data         not executable
//	rootfs/usr/local/bin -> /opt/bin   (absolute link into a volume)
//	rootfs/opt/bin/hidden   executable, hidden by the volume on /opt
//	vol/bin/tool            executable, the volume's
//	vol/bin/script          script whose interpreter is in the volume
//	vol/bin/rel -> tool     relative link inside the volume
//	single                  executable file bound alone
func entrypointFixture(t *testing.T) (string, []specs.Mount) {
	t.Helper()
	dir := t.TempDir()
	rootfs, vol := filepath.Join(dir, "rootfs"), filepath.Join(dir, "vol")
	files := map[string]struct {
		data string
		mode os.FileMode
	}{
		"rootfs/bin/sh":         {"#!/bin/sh\n", 0o755},
		"rootfs/bin/data":       {"data", 0o644},
		"rootfs/opt/bin/hidden": {"#!/bin/sh\n", 0o755},
		"vol/bin/tool":          {"#!/bin/sh\n", 0o755},
		"vol/bin/script":        {"#!/opt/bin/tool\n", 0o755},
		"single":                {"#!/bin/sh\n", 0o755},
	}
	for name, f := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(rootfs, "usr/local"), 0o755)
	os.Symlink("/opt/bin", filepath.Join(rootfs, "usr/local/bin"))
	os.Symlink("tool", filepath.Join(vol, "bin/rel"))
	mounts := append(defaultMounts(false, true),
		specs.Mount{Destination: "/opt", Type: "bind", Source: vol},
		specs.Mount{Destination: "/usr/bin/single", Type: "bind", Source: filepath.Join(dir, "single")},
		specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs"},
	)
	return rootfs, mounts
}

func TestCheckCommandSeesTheContainersView(t *testing.T) {
	rootfs, mounts := entrypointFixture(t)
	tests := []struct {
		name string
		args []string
		env  []string
		want int // 0 = accepted, else the ExitError code
	}{
		{"in the image", []string{"/bin/sh"}, nil, 0},
		{"in a bind mount", []string{"/opt/bin/tool"}, nil, 0},
		{"hidden by a bind mount", []string{"/opt/bin/hidden"}, nil, ExitCommandNotFound},
		{"through an image symlink into a bind mount", []string{"/usr/local/bin/tool"}, nil, 0},
		{"relative symlink inside a bind mount", []string{"/opt/bin/rel"}, nil, 0},
		{"on PATH in a bind mount", []string{"tool"}, []string{"PATH=/bin:/opt/bin"}, 0},
		{"single file bind mount", []string{"/usr/bin/single"}, nil, 0},
		{"script whose interpreter is in a bind mount", []string{"/opt/bin/script"}, nil, 0},
		{"on a tmpfs: left to the runtime", []string{"/scratch/cmd"}, nil, 0},
		{"truly missing", []string{"/nope"}, nil, ExitCommandNotFound},
		{"missing in a bind mount", []string{"/opt/bin/nope"}, nil, ExitCommandNotFound},
		{"missing on PATH", []string{"nope"}, []string{"PATH=/bin:/opt/bin"}, ExitCommandNotFound},
		{"not executable", []string{"/bin/data"}, nil, ExitCannotInvoke},
		{"a directory in a bind mount", []string{"/opt/bin"}, nil, ExitCannotInvoke},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkCommand(rootfs, mounts, tt.args, tt.env, "/")
			var ee *ExitError
			switch {
			case tt.want == 0 && err != nil:
				t.Errorf("checkCommand(%v) = %v, want accepted", tt.args, err)
			case tt.want != 0 && (!errors.As(err, &ee) || ee.Code != tt.want):
				t.Errorf("checkCommand(%v) = %v, want exit %d", tt.args, err, tt.want)
			}
		})
	}
}

func TestContainerViewStaysInsideItsRoots(t *testing.T) {
	rootfs, mounts := entrypointFixture(t)
	// An absolute link to a host path resolves in the container, where
	// the target does not exist.
	os.Symlink("/etc/passwd", filepath.Join(rootfs, "bin/escape"))
	os.Symlink("../../../../../../etc/passwd", filepath.Join(rootfs, "bin/dotdot"))
	for _, p := range []string{"/bin/escape", "/bin/dotdot"} {
		v := newContainerView(rootfs, mounts)
		root, rel, err := v.locate(p)
		if err == nil {
			t.Errorf("locate(%s) = %s, %s: want not found (the host's /etc/passwd is not the container's)", p, root, rel)
		}
	}
}

func TestInitExecCode(t *testing.T) {
	tests := []struct {
		msg  string
		want int
	}{
		{`unable to start container process: error during container init: exec: "/scratch/cmd": stat /scratch/cmd: no such file or directory`, ExitCommandNotFound},
		{`unable to start container process: error during container init: exec: "cmd": executable file not found in $PATH`, ExitCommandNotFound},
		{`unable to start container process: error during container init: exec: "/x": permission denied`, ExitCannotInvoke},
		{`unable to start container process: error during container init: exec format error`, 0},
		{`unable to start container process: error during container init: unable to apply caps: operation not permitted`, 0},
		{`mount /proc: no such file or directory`, 0},
	}
	for _, tt := range tests {
		if got := initExecCode(errors.New(tt.msg)); got != tt.want {
			t.Errorf("initExecCode(%q) = %d, want %d", tt.msg, got, tt.want)
		}
	}
}
