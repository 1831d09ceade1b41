package specgen

import (
	"debug/elf"
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/containerinit"
)

// ParseSignal parses a signal name (KILL, SIGKILL) or number.
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("signal %d is out of range 1-64", n)
		}
		return unix.Signal(n), nil
	}
	sig := unix.SignalNum("SIG" + strings.TrimPrefix(strings.ToUpper(s), "SIG"))
	if sig == 0 {
		return 0, fmt.Errorf("unknown signal %q: use a name like TERM, KILL, HUP or a number", s)
	}
	return sig, nil
}

// StopSignal is the signal that stops a container of spec: the image's
// STOPSIGNAL, which GenerateSpec records in an annotation, SIGTERM when
// there is none or it is not a signal.
func StopSignal(spec *specs.Spec) unix.Signal {
	if s, ok := spec.Annotations[AnnotationStopSignal]; ok {
		if sig, err := ParseSignal(s); err == nil {
			return sig
		}
	}
	return unix.SIGTERM
}

// AddInit makes edgerun's own init (--init) the container's PID 1: the
// binary exe (this edgerun, static so it runs in any image) is bind-mounted
// read-only at containerinit.Path and the command is started through it.
// It is applied after CheckCommand, which checks the command itself.
func AddInit(spec *specs.Spec, exe string) error {
	if ef, err := elf.Open(exe); err == nil {
		for _, p := range ef.Progs {
			if p.Type == elf.PT_INTERP {
				ef.Close()
				return fmt.Errorf("--init needs a statically linked edgerun (this one is dynamic and cannot run inside the container): build it with make build")
			}
		}
		ef.Close()
	}
	spec.Mounts = append(spec.Mounts, specs.Mount{
		Destination: containerinit.Path, Type: "bind", Source: exe,
		Options: []string{"bind", "ro", "nosuid", "nodev"},
	})
	spec.Process.Args = append([]string{containerinit.Path, "--"}, spec.Process.Args...)
	return nil
}
