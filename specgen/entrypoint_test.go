package specgen

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
	if err := os.MkdirAll(filepath.Join(rootfs, "usr/local"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		filepath.Join(rootfs, "usr/local/bin"): "/opt/bin",
		filepath.Join(vol, "bin/rel"):          "tool",
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
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
		want error // nil = accepted, else the kind of refusal
	}{
		{"in the image", []string{"/bin/sh"}, nil, nil},
		{"in a bind mount", []string{"/opt/bin/tool"}, nil, nil},
		{"hidden by a bind mount", []string{"/opt/bin/hidden"}, nil, ErrCommandNotFound},
		{"through an image symlink into a bind mount", []string{"/usr/local/bin/tool"}, nil, nil},
		{"relative symlink inside a bind mount", []string{"/opt/bin/rel"}, nil, nil},
		{"on PATH in a bind mount", []string{"tool"}, []string{"PATH=/bin:/opt/bin"}, nil},
		{"single file bind mount", []string{"/usr/bin/single"}, nil, nil},
		{"script whose interpreter is in a bind mount", []string{"/opt/bin/script"}, nil, nil},
		{"on a tmpfs: left to the runtime", []string{"/scratch/cmd"}, nil, nil},
		{"truly missing", []string{"/nope"}, nil, ErrCommandNotFound},
		{"missing in a bind mount", []string{"/opt/bin/nope"}, nil, ErrCommandNotFound},
		{"missing on PATH", []string{"nope"}, []string{"PATH=/bin:/opt/bin"}, ErrCommandNotFound},
		{"not executable", []string{"/bin/data"}, nil, ErrCannotInvoke},
		{"a directory in a bind mount", []string{"/opt/bin"}, nil, ErrCannotInvoke},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckCommand(rootfs, mounts, tt.args, tt.env, "/")
			switch {
			case tt.want == nil && err != nil:
				t.Errorf("CheckCommand(%v) = %v, want accepted", tt.args, err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("CheckCommand(%v) = %v, want %v", tt.args, err, tt.want)
			}
		})
	}
}

func TestContainerViewStaysInsideItsRoots(t *testing.T) {
	rootfs, mounts := entrypointFixture(t)
	// An absolute link to a host path resolves in the container, where
	// the target does not exist.
	for link, target := range map[string]string{
		"bin/escape": "/etc/passwd",
		"bin/dotdot": "../../../../../../etc/passwd",
	} {
		if err := os.Symlink(target, filepath.Join(rootfs, link)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"/bin/escape", "/bin/dotdot"} {
		v := newContainerView(rootfs, mounts)
		root, rel, err := v.locate(p)
		if err == nil {
			t.Errorf("locate(%s) = %s, %s: want not found (the host's /etc/passwd is not the container's)", p, root, rel)
		}
	}
}

func TestCheckWorkdirRefusesLinksIntoProc(t *testing.T) {
	rootfs := t.TempDir()
	for name, target := range map[string]string{
		"wd":     "/proc/self/fd/7",
		"rel":    "../proc/self/cwd",
		"chain":  "/wd",
		"srv":    "/srv-real",
		"inproc": "/proc",
	} {
		if err := os.Symlink(target, filepath.Join(rootfs, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(rootfs, "srv-real"), 0o755); err != nil {
		t.Fatal(err)
	}
	mounts := []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}}
	for _, tt := range []struct{ cwd, want string }{
		{"/", ""},
		{"/srv", ""},
		{"/srv/app", ""}, // missing: the runtime makes it
		{"/wd", "leads to /proc/self/fd/7, in /proc"},
		{"/rel", "leads to /proc/self/cwd, in /proc"},
		{"/chain/x", "leads to /proc/self/fd/7/x, in /proc"},
		{"/inproc", "leads to /proc, in /proc"},
	} {
		t.Run(tt.cwd, func(t *testing.T) {
			err := CheckWorkdir(rootfs, mounts, tt.cwd)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("%s: %v", tt.cwd, err)
				}
				return
			}
			checkErr(t, err, tt.want)
			if !errors.Is(err, ErrInvalidOption) {
				t.Errorf("%s: %v is not ErrInvalidOption", tt.cwd, err)
			}
		})
	}
}
