package container

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/oci"
)

// OCIExecOptions are the inputs of exec.
type OCIExecOptions struct {
	ID string
	// Process is the whole process document (--process); without it the
	// process is the container's own (its bundle's config.json) with
	// Args and the overrides below.
	Process *specs.Process
	Args    []string
	Env     []string // --env KEY=VALUE, added
	Cwd     string   // --cwd
	User    string   // --user UID[:GID]
	// AdditionalGids, Caps (added to every set), NoNewPrivs, TTY: runc's
	// -g, --cap, --no-new-privs and --tty.
	AdditionalGids []int
	Caps           []string
	NoNewPrivs     bool
	TTY            bool

	Detach        bool   // --detach: return once the process runs
	PidFile       string // --pid-file
	ConsoleSocket string // --console-socket, with a terminal
	PreserveFDs   int    // --preserve-fds
	Stdin         io.Reader
	Stdout        io.Writer
	Stderr        io.Writer
}

// Exec runs another process in a created or running container, with the
// container's namespaces, cgroup and seccomp profile and the process's
// own user, capabilities and limits. Detached, it returns once the
// process runs (the engine reaps it); otherwise it relays stdio, forwards
// signals and returns the exit code (128+N when killed by signal N).
func (o *OCIRuntime) Exec(ctx context.Context, opts OCIExecOptions) (int, error) {
	c, err := o.load(opts.ID)
	if err != nil {
		return 1, err
	}
	switch st, err := c.Status(); {
	case err != nil:
		return 1, err
	case st == libcontainer.Stopped:
		return 1, fmt.Errorf("container %s has stopped: exec needs a running container", opts.ID)
	case st == libcontainer.Paused:
		return 1, fmt.Errorf("container %s is paused: resume it first", opts.ID)
	}
	sp, err := o.execProcess(c, &opts)
	if err != nil {
		return 1, err
	}
	if err := checkConsole(sp.Terminal, opts.ConsoleSocket, opts.Detach); err != nil {
		return 1, err
	}
	proc, err := newProcess(sp)
	if err != nil {
		return 1, err
	}
	proc.Init = false
	proc.LogLevel = strconv.Itoa(int(logrus.GetLevel()))
	closers, err := processIO(proc, sp.Terminal, opts.ConsoleSocket, opts.PreserveFDs, opts.Stdin, opts.Stdout, opts.Stderr)
	defer func() {
		for _, f := range closers {
			f.Close()
		}
	}()
	if err != nil {
		return 1, err
	}
	tty := &stdio{opts: &RunOptions{}}
	if sp.Terminal && opts.ConsoleSocket == "" {
		if tty, err = attachIO(proc, &RunOptions{Interactive: true, Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr}, true); err != nil {
			return 1, err
		}
		defer tty.close()
	}
	if err := c.Run(proc); err != nil {
		return 1, fmt.Errorf("exec in container %s: %w", opts.ID, err)
	}
	if err := writePidFile(opts.PidFile, proc); err != nil {
		_ = proc.Signal(unix.SIGKILL)
		return 1, err
	}
	if opts.Detach {
		return 0, nil
	}
	if err := tty.started(); err != nil {
		_ = proc.Signal(unix.SIGKILL)
	}
	stop := forwardSignals(proc, tty)
	ps, werr := proc.Wait()
	stop()
	tty.wait()
	if ps == nil {
		return 1, fmt.Errorf("wait for the exec'd process: %w", werr)
	}
	return waitCode(ps), nil
}

// execProcess is the process exec runs: the document given, or the
// container's process with the command line's overrides.
func (o *OCIRuntime) execProcess(c *libcontainer.Container, opts *OCIExecOptions) (*specs.Process, error) {
	if opts.Process != nil {
		if len(opts.Args) > 0 {
			return nil, fmt.Errorf("exec takes a command or --process, not both")
		}
		return opts.Process, nil
	}
	if len(opts.Args) == 0 {
		return nil, fmt.Errorf("exec needs a command, or --process with a process document")
	}
	bundle := bundleOf(c)
	f, err := os.Open(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("read the container's process from its bundle: %w", err)
	}
	defer f.Close()
	var spec specs.Spec
	if err := oci.DecodeStrict(f, &spec); err != nil || spec.Process == nil {
		return nil, fmt.Errorf("the container's config.json in %s is no longer readable: pass --process", bundle)
	}
	p := *spec.Process
	p.Args = opts.Args
	p.Env = append(append([]string(nil), p.Env...), opts.Env...)
	p.Terminal = opts.TTY
	p.ConsoleSize = nil
	if opts.Cwd != "" {
		p.Cwd = opts.Cwd
	}
	if opts.User != "" {
		uid, gid, err := parseUIDGID(opts.User)
		if err != nil {
			return nil, err
		}
		p.User.UID, p.User.GID = uid, gid
	}
	for _, g := range opts.AdditionalGids {
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	if opts.NoNewPrivs {
		p.NoNewPrivileges = true
	}
	if len(opts.Caps) > 0 && p.Capabilities != nil {
		caps := *p.Capabilities
		for _, cp := range opts.Caps {
			cp = "CAP_" + strings.TrimPrefix(strings.ToUpper(cp), "CAP_")
			caps.Bounding = append(caps.Bounding, cp)
			caps.Effective = append(caps.Effective, cp)
			caps.Permitted = append(caps.Permitted, cp)
		}
		p.Capabilities = &caps
	}
	if err := oci.CheckProcess(&p); err != nil {
		return nil, err
	}
	return &p, nil
}

// parseUIDGID reads --user UID[:GID].
func parseUIDGID(s string) (uint32, uint32, error) {
	u, g, hasGID := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(u, 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("--user %q: use UID[:GID], numbers", s)
	}
	gid := uint64(0)
	if hasGID {
		if gid, err = strconv.ParseUint(g, 10, 32); err != nil {
			return 0, 0, fmt.Errorf("--user %q: use UID[:GID], numbers", s)
		}
	}
	return uint32(uid), uint32(gid), nil
}
