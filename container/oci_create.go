package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/oci"
)

// OCICreateOptions are the inputs of create and run.
type OCICreateOptions struct {
	ID     string
	Bundle string // --bundle, default the working directory
	// PidFile receives the init's PID (--pid-file), written atomically.
	PidFile string
	// ConsoleSocket is the AF_UNIX socket that receives the pty master
	// over SCM_RIGHTS when the process has a terminal (--console-socket).
	ConsoleSocket string
	NoPivot       bool // --no-pivot: MS_MOVE instead of pivot_root
	NoNewKeyring  bool // --no-new-keyring
	// PreserveFDs passes this many file descriptors after stdio
	// (3, 4, ...) on to the container (--preserve-fds).
	PreserveFDs int
	// Detach (run -d): return once the process runs; create always does.
	Detach bool
	// Keep (run --keep): leave a foreground run's stopped container.
	Keep bool

	// The container's stdio without a terminal: the caller's own (the
	// engine's pipes or fifos) are passed straight through.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Create makes the container of the bundle and starts its init, which
// waits for Start before it runs the process: the created state. The
// prestart, createRuntime and createContainer hooks have run when it
// returns. On any error nothing of the container is left.
func (o *OCIRuntime) Create(opts OCICreateOptions) error {
	m, err := o.create(&opts, true)
	if err != nil {
		return err
	}
	defer m.close()
	if err := m.c.Start(m.proc); err != nil {
		return o.undo(m.c, fmt.Errorf("create container %s: %w", opts.ID, err))
	}
	if err := writePidFile(m.pidFile, m.proc); err != nil {
		return o.undo(m.c, err)
	}
	return nil
}

// Run is create and start in one: with Detach it returns once the
// process runs; otherwise it relays stdio (a pty when the process has a
// terminal and no console socket is given), forwards signals, waits,
// deletes the container (unless Keep) and returns the exit code.
func (o *OCIRuntime) Run(ctx context.Context, opts OCICreateOptions) (int, error) {
	m, err := o.create(&opts, opts.Detach)
	if err != nil {
		return 1, err
	}
	defer m.close()
	c, proc := m.c, m.proc
	var tty *stdio
	if !opts.Detach && proc.ConsoleSocket == nil && m.terminal {
		if tty, err = attachIO(proc, &RunOptions{Interactive: true, Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr}, true); err != nil {
			return 1, o.undo(c, err)
		}
		defer tty.close()
	}
	if !opts.Detach {
		// Orphans of a container without its own PID namespace come to
		// this process, which reaps them as the container's parent.
		_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	if err := c.Run(proc); err != nil {
		return 1, o.undo(c, fmt.Errorf("run container %s: %w", opts.ID, err))
	}
	if err := writePidFile(m.pidFile, proc); err != nil {
		return 1, o.undo(c, err)
	}
	o.runPoststart(c)
	if opts.Detach {
		return 0, nil
	}
	if tty == nil {
		tty = &stdio{opts: &RunOptions{}}
	} else if err := tty.started(); err != nil {
		_ = proc.Signal(unix.SIGKILL)
	}
	stop := forwardSignals(proc, tty)
	ps, werr := proc.Wait()
	stop()
	tty.wait()
	code := 1
	if ps != nil {
		code = waitCode(ps)
	}
	if !opts.Keep {
		if err := killAndDestroy(c, o.rootlessCgroups); err != nil {
			logrus.Warnf("delete container %s: %v", opts.ID, err)
		}
	}
	if ps == nil {
		return code, fmt.Errorf("wait for container %s: %w", opts.ID, werr)
	}
	return code, nil
}

// made is a container made by create, its init not yet started.
type made struct {
	c        *libcontainer.Container
	proc     *libcontainer.Process
	terminal bool       // the process has a terminal
	pidFile  string     // absolute
	closers  []*os.File // what the process was given, closed once it runs
}

func (m *made) close() {
	for _, f := range m.closers {
		f.Close()
	}
}

// create checks the bundle and the options, then makes the libcontainer
// container and its init process, not yet started. detached says the
// runtime returns while the container runs (create, run -d): a terminal
// then needs a console socket.
func (o *OCIRuntime) create(opts *OCICreateOptions, detached bool) (*made, error) {
	if err := oci.CheckID(opts.ID); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(filepath.Join(o.cfg.Root, opts.ID)); err == nil {
		return nil, fmt.Errorf("container %s exists: delete it first, or choose another id", opts.ID)
	}
	b, err := oci.LoadBundle(opts.Bundle)
	if err != nil {
		return nil, err
	}
	// Paths the caller gave relative to its working directory, which
	// becomes the bundle below.
	pidFile, socket, err := absPaths(opts.PidFile, opts.ConsoleSocket)
	if err != nil {
		return nil, err
	}
	if err := checkConsole(b.Spec.Process.Terminal, socket, detached); err != nil {
		return nil, err
	}
	// libcontainer records the working directory as the bundle, as runc
	// does: the create runs from inside the bundle.
	if err := os.Chdir(b.Dir); err != nil {
		return nil, fmt.Errorf("enter the bundle: %w", err)
	}
	normalizeSpec(b.Spec)
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{
		CgroupName: opts.ID, UseSystemdCgroup: o.cfg.SystemdCgroup, NoPivotRoot: opts.NoPivot,
		NoNewKeyring: opts.NoNewKeyring, Spec: b.Spec, RootlessEUID: o.rootlessEUID, RootlessCgroups: o.rootlessCgroups,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", oci.ErrInvalidBundle, b.Dir, err)
	}
	dropBindMountData(cfg)
	poststart := takePoststart(cfg, b.Spec)
	proc, err := newProcess(b.Spec.Process)
	if err != nil {
		return nil, err
	}
	proc.LogLevel = strconv.Itoa(int(logrus.GetLevel()))
	m := &made{proc: proc, terminal: b.Spec.Process.Terminal, pidFile: pidFile}
	m.closers, err = processIO(proc, b.Spec.Process.Terminal, socket, opts.PreserveFDs, opts.Stdin, opts.Stdout, opts.Stderr)
	if err != nil {
		m.close()
		return nil, err
	}
	m.c, err = libcontainer.Create(o.cfg.Root, opts.ID, cfg)
	if err != nil {
		m.close()
		// A create that failed half-way may leave its directory.
		if !errors.Is(err, libcontainer.ErrExist) {
			_ = os.RemoveAll(filepath.Join(o.cfg.Root, opts.ID))
		}
		if o.cfg.SystemdCgroup {
			err = fmt.Errorf("%w (with --systemd-cgroup; without systemd, configure the engine for cgroupfs: containerd's SystemdCgroup = false, podman's cgroup_manager = \"cgroupfs\")", err)
		}
		return nil, fmt.Errorf("create container %s: %w", opts.ID, err)
	}
	if err := o.savePoststart(opts.ID, poststart); err != nil {
		m.close()
		return nil, o.undo(m.c, fmt.Errorf("keep the poststart hooks: %w", err))
	}
	return m, nil
}

// normalizeSpec clears what the runtime-spec says has no meaning, which
// libcontainer would otherwise hold against the spec: the major and
// minor numbers of a FIFO device ("p"; the kernel records none, and
// libcontainer's check of the new node would fail).
func normalizeSpec(s *specs.Spec) {
	if s.Linux == nil {
		return
	}
	for i := range s.Linux.Devices {
		if d := &s.Linux.Devices[i]; d.Type == "p" {
			d.Major, d.Minor = 0, 0
		}
	}
}

// dropBindMountData removes filesystem options from bind mounts, with a
// warning: the kernel ignores them on a bind mount (runc 1.1 passed them
// and nothing happened), while libcontainer refuses the whole container.
func dropBindMountData(cfg *configs.Config) {
	for _, m := range cfg.Mounts {
		if m.IsBind() && m.Data != "" {
			logrus.Warnf("bind mount of %s at %s: filesystem options %q are ignored (a bind mount takes none)", m.Source, m.Destination, m.Data)
			m.Data = ""
		}
	}
}

// checkConsole applies runc's rules on --console-socket.
func checkConsole(terminal bool, socket string, detached bool) error {
	switch {
	case terminal && detached && socket == "":
		return errors.New("the process has a terminal and the runtime detaches: pass --console-socket to receive the pty master")
	case !terminal && socket != "":
		return errors.New("--console-socket needs a process with a terminal (process.terminal true)")
	}
	return nil
}

// processIO connects a process to its stdio: the pty master goes to the
// console socket, or without a terminal the given streams are passed
// straight through; preserved descriptors follow. It returns what to
// close once the process has started.
func processIO(proc *libcontainer.Process, terminal bool, socket string, preserve int, stdin io.Reader, stdout, stderr io.Writer) ([]*os.File, error) {
	var closers []*os.File
	if terminal && socket != "" {
		conn, err := net.Dial("unix", socket)
		if err != nil {
			return nil, fmt.Errorf("console socket: %w", err)
		}
		f, err := conn.(*net.UnixConn).File()
		conn.Close()
		if err != nil {
			return nil, fmt.Errorf("console socket: %w", err)
		}
		proc.ConsoleSocket = f
		closers = append(closers, f)
	} else if !terminal {
		proc.Stdin, proc.Stdout, proc.Stderr = stdin, stdout, stderr
	}
	if preserve < 0 {
		return closers, fmt.Errorf("--preserve-fds %d: must be 0 or more", preserve)
	}
	for fd := 3; fd < 3+preserve; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			return closers, fmt.Errorf("--preserve-fds %d: descriptor %d is not open", preserve, fd)
		}
		proc.ExtraFiles = append(proc.ExtraFiles, os.NewFile(uintptr(fd), "preserved-fd-"+strconv.Itoa(fd)))
	}
	return closers, nil
}

// undo removes a container whose create or start failed and returns err.
func (o *OCIRuntime) undo(c *libcontainer.Container, err error) error {
	if derr := killAndDestroy(c, o.rootlessCgroups); derr != nil {
		logrus.Warnf("remove the failed container %s: %v", c.ID(), derr)
	}
	return err
}

// absPaths makes the pid file's and the console socket's paths absolute
// (when given).
func absPaths(pidFile, socket string) (string, string, error) {
	out := []string{pidFile, socket}
	for i, p := range out {
		if p == "" {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", "", err
		}
		out[i] = abs
	}
	return out[0], out[1], nil
}

// writePidFile writes the process's PID to path, atomically.
func writePidFile(path string, proc *libcontainer.Process) error {
	if path == "" {
		return nil
	}
	pid, err := proc.Pid()
	if err == nil {
		err = atomicfile.WriteFileVolatile(path, []byte(strconv.Itoa(pid)), 0o644)
	}
	if err != nil {
		return fmt.Errorf("write the pid file: %w", err)
	}
	return nil
}
