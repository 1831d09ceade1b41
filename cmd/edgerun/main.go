// Command edgerun is a daemonless container runtime for IoT gateways.
//
// This folder only parses flags into options and calls one library function
// per command; all behaviour lives in the library packages (container,
// specgen, image, rootfs, netns, cgroups, logfile; see docs/architecture.md).
//
// Go's runtime sizes GOMAXPROCS by the cgroup CPU limit of the process,
// keeps the limit files open and re-reads them while it runs. edgerun's
// processes are short, or idle (a monitor per container), or the init of
// a container about to exec its program: GOMAXPROCS stays the CPU count,
// and an idle monitor keeps no cgroup files open and does no re-reads.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/doctor"
	"github.com/edgerun/edgerun/internal/containerinit"
	"github.com/edgerun/edgerun/internal/statedir"
	"github.com/edgerun/edgerun/rootless"

	// The C monitor of detached containers (see package relay).
	_ "github.com/edgerun/edgerun/relay"
)

func main() {
	// libcontainer re-executes this binary as "edgerun init" inside the new
	// namespaces; answer it before cobra sees the arguments.
	if len(os.Args) > 1 && os.Args[1] == container.InitCommand {
		container.Init()
		return
	}
	// edgerun doctor's overlay probe inside a new user namespace.
	if dir := os.Getenv(doctor.ProbeEnv); dir != "" {
		os.Exit(doctor.ProbeChild(dir))
	}
	// A detached container's monitor (run -d, start): the same binary,
	// kept lean by never building the CLI.
	if len(os.Args) > 1 && os.Args[1] == container.MonitorCommand {
		os.Exit(container.MonitorMain(os.Args[2:]))
	}
	// A running container's device sync, run by its monitor on hotplug.
	if len(os.Args) > 1 && os.Args[1] == container.DevicesCommand {
		os.Exit(container.DevicesMain(os.Args[2:]))
	}
	// A running container's OOM kills, recorded by its monitor's child.
	if len(os.Args) > 1 && os.Args[1] == container.OOMCommand {
		os.Exit(container.OOMMain(os.Args[2:]))
	}
	// One probe of a container's health check, run by its monitor.
	if len(os.Args) > 1 && os.Args[1] == container.HealthCommand {
		os.Exit(container.ProbeMain(os.Args[2:]))
	}
	// Engines (containerd's runc shim, conmon) run the binary by a path,
	// named edgerun-oci: runc's command line.
	if filepath.Base(os.Args[0]) == OCIName {
		os.Exit(runOCI(os.Args[1:]))
	}
	// Inside a container started with --init, this binary is PID 1.
	if filepath.Base(os.Args[0]) == containerinit.Name {
		os.Exit(containerinit.Main(os.Args[1:], os.Stderr))
	}
	// An ordinary user's commands run in the user's rootless session
	// (package rootless): this re-executes the command inside it.
	if os.Geteuid() != 0 && !rootless.Inside() && needsSession(os.Args[1:]) {
		if err := enterSession(); err != nil {
			fmt.Fprintf(os.Stderr, "edgerun: %v\n", err)
			os.Exit(125)
		}
	}
	os.Exit(runCLI())
}

// enterSession enters the rootless session with --root and --state
// defaulting to the user's directories (inside, edgerun is root and would
// pick the system's).
func enterSession() error {
	root, state := statedir.DefaultPaths(os.Getenv)
	var env []string
	if os.Getenv("EDGERUN_ROOT") == "" {
		env = append(env, "EDGERUN_ROOT="+root)
	}
	if os.Getenv("EDGERUN_STATE") == "" {
		env = append(env, "EDGERUN_STATE="+state)
	}
	return rootless.Enter(context.Background(), rootless.Options{Env: env,
		Notice: func(msg string) { fmt.Fprintf(os.Stderr, "edgerun: note: %s\n", msg) }})
}

// needsSession reports whether the command line runs a command that needs
// the rootless session: all but help, version, doctor and completion.
func needsSession(args []string) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--root" || a == "--state" || a == "--bridge" || a == "--subnet":
			i++ // the flag's value
		case strings.HasPrefix(a, "-"):
			if a == "-h" || a == "--help" {
				return false
			}
		default:
			switch a {
			// oci: the OCI runtime face runs where its engine runs it.
			case "help", "version", "doctor", "completion", "__complete", "__completeNoDesc", "oci":
				return false
			}
			return true
		}
	}
	return false
}

// runCLI runs the command line and returns the exit code.
func runCLI() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newRootCommand(os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	return exitCode(cmd.ExecuteContext(ctx), os.Stderr)
}

// exitError carries a process exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }
