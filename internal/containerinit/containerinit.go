// Package containerinit is the small init process `edgerun run --init`
// puts in front of the container's command: the edgerun binary itself,
// bind-mounted into the container and started under the name Name. As PID 1
// it forwards signals to the command (PID 1 gets no default signal
// actions, so a plain command would ignore SIGTERM), reaps the zombies of
// orphaned processes, and exits with the command's exit code.
package containerinit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// Name is the file name the init is started under; main dispatches on it.
const Name = "edgerun-init"

// Path is where the init is bind-mounted inside the container.
const Path = "/dev/" + Name

// Main runs args[0] with args[1:] (args may start with "--") and returns
// the exit code for the init to exit with.
func Main(args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, "%s: no command given\n", Name)
		return 127
	}
	// Orphans are re-parented to us even when we are not PID 1 (a shared
	// PID namespace), so they are reaped either way.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", Name, err)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return 127
		}
		return 126
	}
	child := cmd.Process.Pid
	for sig := range sigs {
		switch sig {
		case unix.SIGCHLD:
			if code, done := reap(child); done {
				return code
			}
		case unix.SIGURG, unix.SIGPIPE:
			// The Go runtime's preemption signal, and a broken pipe of our
			// own: not for the command.
		default:
			_ = unix.Kill(child, sig.(syscall.Signal))
		}
	}
	return 0
}

// reap collects every exited process; when the command itself exited it
// returns its exit code (128+N for signal N).
func reap(child int) (int, bool) {
	code, done := 0, false
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return code, done
		}
		if pid == child {
			done = true
			code = ws.ExitStatus()
			if ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		}
	}
}
