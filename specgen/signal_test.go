package specgen

import (
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/containerinit"
)

func TestParseSignal(t *testing.T) {
	for _, c := range []struct {
		in   string
		want unix.Signal
		ok   bool
	}{
		{"KILL", unix.SIGKILL, true},
		{"sigterm", unix.SIGTERM, true},
		{"SIGHUP", unix.SIGHUP, true},
		{"10", unix.Signal(10), true},
		{"0", 0, false},
		{"65", 0, false},
		{"NOPE", 0, false},
	} {
		got, err := ParseSignal(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSignal(%q) = %v, %v; want %v, ok %v", c.in, got, err, c.want, c.ok)
		}
		// Not a run option: kill, stop and the OCI face take signals too.
		if err != nil && errors.Is(err, ErrInvalidOption) {
			t.Errorf("ParseSignal(%q): %v says invalid run option", c.in, err)
		}
	}
}

func TestStopSignalIsTheImagesOrTERM(t *testing.T) {
	for _, c := range []struct {
		annotations map[string]string
		want        unix.Signal
	}{
		{nil, unix.SIGTERM},
		{map[string]string{AnnotationStopSignal: "SIGQUIT"}, unix.SIGQUIT},
		{map[string]string{AnnotationStopSignal: "2"}, unix.SIGINT},
		{map[string]string{AnnotationStopSignal: "bogus"}, unix.SIGTERM},
	} {
		if got := StopSignal(&specs.Spec{Annotations: c.annotations}); got != c.want {
			t.Errorf("StopSignal(%v) = %v, want %v", c.annotations, got, c.want)
		}
	}
}

func TestAddInitRunsTheCommandThroughAStaticInit(t *testing.T) {
	static := filepath.Join(t.TempDir(), "edgerun")
	// Not an ELF file at all: nothing says it needs an interpreter.
	if err := os.WriteFile(static, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	spec := &specs.Spec{Process: &specs.Process{Args: []string{"sensor", "serve"}}}
	if err := AddInit(spec, static); err != nil {
		t.Fatal(err)
	}
	if want := []string{containerinit.Path, "--", "sensor", "serve"}; !slices.Equal(spec.Process.Args, want) {
		t.Errorf("args %q, want %q", spec.Process.Args, want)
	}
	if len(spec.Mounts) != 1 || spec.Mounts[0].Source != static || spec.Mounts[0].Destination != containerinit.Path ||
		!slices.Contains(spec.Mounts[0].Options, "ro") {
		t.Errorf("mounts %+v, want %s bound read-only at %s", spec.Mounts, static, containerinit.Path)
	}
	// A dynamically linked binary cannot run in an image without its libc.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, dyn := range []string{"/bin/sh", "/usr/bin/env", exe} {
		if isDynamic(dyn) {
			if err := AddInit(&specs.Spec{Process: &specs.Process{Args: []string{"x"}}}, dyn); err == nil {
				t.Errorf("AddInit accepted the dynamic binary %s", dyn)
			}
			return
		}
	}
	t.Log("no dynamically linked binary found to refuse")
}

// isDynamic says whether path is an ELF file that needs an interpreter.
func isDynamic(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true
		}
	}
	return false
}
