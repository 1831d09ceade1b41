package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/configs/validate"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/specgen"
)

// libcontainerRoot is where libcontainer keeps its per-container state.
func (r *Runtime) libcontainerRoot() string { return filepath.Join(r.cfg.State, "libcontainer") }

// createLibcontainer converts the spec and creates the (not yet started)
// libcontainer container.
func (r *Runtime) createLibcontainer(id string, spec *specs.Spec) (*libcontainer.Container, error) {
	cfg, err := r.libcontainerConfig(id, spec)
	if err != nil {
		return nil, err
	}
	c, err := libcontainer.Create(r.libcontainerRoot(), id, cfg)
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	return c, nil
}

// checkLibcontainer refuses a spec that createLibcontainer would: its
// conversion and libcontainer's validation of the result, without any
// state or cgroup.
func (r *Runtime) checkLibcontainer(id string, spec *specs.Spec) error {
	cfg, err := r.libcontainerConfig(id, spec)
	if err != nil {
		return err
	}
	if err := validate.Validate(cfg); err != nil {
		return fmt.Errorf("create container: %w", err)
	}
	return nil
}

// libcontainerConfig converts the spec of container id.
func (r *Runtime) libcontainerConfig(id string, spec *specs.Spec) (*configs.Config, error) {
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName: id,
		Spec:       spec,
		// A rootless container of --group-add keep-groups has a user
		// namespace of its own: told it is rootless, libcontainer leaves
		// the groups of the user who runs edgerun to its processes.
		RootlessEUID: os.Geteuid() != 0 || r.cfg.Rootless && specgen.HasOwnUserNamespace(spec),
		// In a rootless session edgerun is root in a user namespace: the
		// cgroups it cannot write are not errors when it set no limits.
		RootlessCgroups: r.cfg.Rootless,
	})
	if err != nil {
		return nil, fmt.Errorf("convert the container spec: %w", err)
	}
	return cfg, nil
}

// loadLibcontainer loads a container libcontainer knows, or nil.
func (r *Runtime) loadLibcontainer(id string) *libcontainer.Container {
	c, err := libcontainer.Load(r.libcontainerRoot(), id)
	if err != nil {
		return nil
	}
	return c
}

// destroyLibcontainer kills what is left of the container and removes its
// cgroup and libcontainer state. A container libcontainer does not know
// (never started, or its state in --state was lost) is killed and its
// cgroup removed by the kernel's account of it (cgroups.Hierarchies).
func (r *Runtime) destroyLibcontainer(id string) error {
	c := r.loadLibcontainer(id)
	if c == nil {
		return errors.Join(r.hierarchies().Remove(r.cgroupPath(id)), os.RemoveAll(filepath.Join(r.libcontainerRoot(), id)))
	}
	err := killAndDestroy(c, r.cgroupless() != nil)
	// A cgroup libcontainer did not know it made (its init was killed
	// before the state was saved) goes too.
	return errors.Join(err, r.hierarchies().Remove(r.cgroupPath(id)))
}

// killAndDestroy kills a container libcontainer knows when it still runs,
// waits for the kill to land and destroys it: its cgroup, its state and
// its poststop hooks. Without a cgroup (cgroupless) the container is gone
// once its PID namespace is empty. Both faces (edgerun's records and the
// OCI runtime's delete --force) end containers through it.
func killAndDestroy(c *libcontainer.Container, cgroupless bool) error {
	if st, err := c.Status(); err == nil && st != libcontainer.Stopped {
		if cgroupless {
			// No cgroup tells when every process is gone: the PID
			// namespace does, once its init is killed.
			if state, err := c.State(); err == nil && state.InitProcessPid > 0 {
				defer waitPidNamespaceEmpty(state.InitProcessPid)()
			}
		}
		_ = c.Signal(killSignal)
		// Destroy refuses a running container: wait for the kill to land.
		pollUntil(context.Background(), killWait, 100*time.Millisecond, func() bool {
			st, err := c.Status()
			return err != nil || st == libcontainer.Stopped
		})
	}
	// A process joining the container as it dies (an exec, a health
	// probe's check: libcontainer's setns init) can keep it "running" a
	// moment longer: kill again and retry.
	var err error
	pollUntil(context.Background(), killWait, 100*time.Millisecond, func() bool {
		if err = c.Destroy(); errors.Is(err, libcontainer.ErrRunning) {
			_ = c.Signal(killSignal)
			return false
		}
		return true
	})
	if errors.Is(err, libcontainer.ErrRunning) {
		return fmt.Errorf("its processes did not die within %s of SIGKILL (a process stuck in the kernel, state D in ps, cannot die until its I/O ends): try again later: %w", killWait, err)
	}
	if err != nil && errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	return err
}

// newProcess turns the spec's process into libcontainer's.
func newProcess(p *specs.Process) (*libcontainer.Process, error) {
	nnp := p.NoNewPrivileges
	lp := &libcontainer.Process{
		Args:            p.Args,
		Env:             p.Env,
		UID:             int(p.User.UID),
		GID:             int(p.User.GID),
		Cwd:             p.Cwd,
		NoNewPrivileges: &nnp,
		Init:            true,
		Label:           p.SelinuxLabel,
		AppArmorProfile: p.ApparmorProfile,
		Scheduler:       p.Scheduler,
		IOPriority:      p.IOPriority,
	}
	if p.ConsoleSize != nil {
		lp.ConsoleWidth, lp.ConsoleHeight = uint16(p.ConsoleSize.Width), uint16(p.ConsoleSize.Height)
	}
	aff, err := configs.ConvertCPUAffinity(p.ExecCPUAffinity)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
	}
	lp.CPUAffinity = aff
	for _, g := range p.User.AdditionalGids {
		lp.AdditionalGroups = append(lp.AdditionalGroups, int(g))
	}
	if c := p.Capabilities; c != nil {
		lp.Capabilities = &configs.Capabilities{
			Bounding: c.Bounding, Effective: c.Effective, Permitted: c.Permitted,
			Inheritable: c.Inheritable, Ambient: c.Ambient,
		}
	}
	for _, rl := range p.Rlimits {
		t, ok := specgen.RlimitResource(rl.Type)
		if !ok {
			return nil, fmt.Errorf("%w: unknown rlimit %s", specgen.ErrInvalidOption, rl.Type)
		}
		lp.Rlimits = append(lp.Rlimits, configs.Rlimit{Type: t, Hard: rl.Hard, Soft: rl.Soft})
	}
	return lp, nil
}

// killSignal is what destroy sends to a container still alive.
const killSignal = unix.SIGKILL

// initExecCode reads docker's exit code from a failed exec in
// libcontainer's init, which reaches us as text over its sync pipe, not
// as an errno: 127 when the command is missing, 126 when it cannot be
// run, 0 for any other error. A container's init says "error during
// container init: exec: ..."; the init of an exec joining a running
// container (setns) says "unable to start container process: exec: ...".
func initExecCode(err error) int {
	msg := err.Error()
	_, exe, ok := strings.Cut(msg, "error during container init: exec: ")
	if !ok {
		_, exe, ok = strings.Cut(msg, "unable to start container process: exec: ")
	}
	if !ok {
		return 0
	}
	switch {
	case strings.Contains(exe, "no such file or directory"), strings.Contains(exe, "executable file not found"):
		return ExitCommandNotFound
	case strings.Contains(exe, "permission denied"), strings.Contains(exe, "exec format error"), strings.Contains(exe, "is a directory"):
		return ExitCannotInvoke
	}
	return 0
}

// waitPidNamespaceEmpty returns a function that waits (at most killWait) until
// no process is left in the PID namespace init has now: killing a
// namespace's init makes the kernel kill the rest, which takes a moment;
// a container without a cgroup (rootless) is gone only then.
func waitPidNamespaceEmpty(init int) func() {
	ns, err := os.Readlink("/proc/" + strconv.Itoa(init) + "/ns/pid")
	if err != nil {
		return func() {}
	}
	return func() {
		pollUntil(context.Background(), killWait, 50*time.Millisecond, func() bool { return len(pidNamespaceMembersOf(ns)) == 0 })
	}
}
