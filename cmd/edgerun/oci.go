package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/oci"
)

// OCIName is the name under which the binary speaks runc's command line
// (a symlink or hard link that make install creates), for engines that
// take a runtime binary's path, not a subcommand.
const OCIName = "edgerun-oci"

// ociOptions are the OCI face's global flags, runc's.
type ociOptions struct {
	Root          string
	Log           string
	LogFormat     string
	SystemdCgroup bool
	Debug         bool
	Rootless      string

	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	logger  *oci.Logger
	logFile *os.File
}

// runOCI runs the command line of the binary invoked as edgerun-oci and
// returns the exit code.
func runOCI(args []string) int {
	cmd := newOCICommand(OCIName, os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", OCIName, ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", OCIName, err)
	return 1
}

// newOCICommand is the runc-compatible command tree: the root command of
// edgerun-oci, and `edgerun oci` under edgerun's.
func newOCICommand(use string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *cobra.Command {
	o := &ociOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	cmd := &cobra.Command{
		Use:   use,
		Short: "The OCI runtime: runc's command line, for containerd, k3s and podman",
		Long: "edgerun's OCI runtime speaks runc's command line, so containerd (io.containerd.runc.v2\n" +
			"with BinaryName), k3s and podman (--runtime) run their containers with edgerun.\n" +
			"The same binary answers it as `edgerun oci` and when invoked as edgerun-oci.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return o.openLog()
		},
	}
	// --version as runc prints it (podman reads the first line). Not
	// cobra's Version: its template would link text/template, whose
	// reflection keeps every exported method in the binary (3 MB).
	var showVersion bool
	cmd.Flags().BoolVarP(&showVersion, "version", "v", false, "print the version")
	cmd.RunE = func(c *cobra.Command, _ []string) error {
		if !showVersion {
			return c.Help()
		}
		fmt.Fprintf(o.Stdout, "%s version %s\nspec: %s\n", OCIName, version, ociSpecVersion)
		return nil
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.Root, "root", oci.DefaultRoot(os.Geteuid(), getenv), "directory of the containers' state")
	pf.StringVar(&o.Log, "log", "", "append log lines to this file (default standard error)")
	pf.StringVar(&o.LogFormat, "log-format", oci.LogText, "format of the log lines: text or json")
	pf.BoolVar(&o.SystemdCgroup, "systemd-cgroup", false, "make cgroups through systemd (cgroupsPath slice:prefix:name)")
	pf.BoolVar(&o.Debug, "debug", false, "log at debug level")
	pf.StringVar(&o.Rootless, "rootless", "auto", "rootless cgroup handling: true, false or auto")
	pf.String("criu", "", "not supported (no checkpoint/restore); accepted for runc's command line")
	_ = pf.MarkHidden("criu")
	cmd.AddCommand(
		newOCICreateCommand(o), newOCIRunCommand(o), newOCIStartCommand(o), newOCIStateCommand(o),
		newOCIKillCommand(o), newOCIDeleteCommand(o), newOCIExecCommand(o), newOCIPsCommand(o),
		newOCIPauseCommand(o, true), newOCIPauseCommand(o, false), newOCIUpdateCommand(o),
		newOCIFeaturesCommand(o), newOCIListCommand(o), newOCISpecCommand(o),
	)
	return cmd
}

// ociSpecVersion is the runtime-spec version the face reads.
const ociSpecVersion = "1.3.0"

// openLog opens --log and makes the logger the verbs report errors to.
func (o *ociOptions) openLog() error {
	w := o.Stderr
	if o.Log != "" {
		f, err := os.OpenFile(o.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("open the log file: %w", err)
		}
		o.logFile, w = f, f
	}
	l, err := oci.NewLogger(w, o.LogFormat)
	if err != nil {
		return err
	}
	o.logger = l
	return nil
}

// runtime opens the OCI runtime of the global flags.
func (o *ociOptions) runtime() (*container.OCIRuntime, error) {
	w := o.Stderr
	if o.logFile != nil {
		w = o.logFile
	}
	return container.OpenOCI(container.OCIConfig{Root: o.Root, SystemdCgroup: o.SystemdCgroup, Rootless: o.Rootless,
		Log: w, LogFormat: o.LogFormat, Debug: o.Debug})
}

// verb wraps a verb's work: an error goes to --log as an error line
// (what containerd and conmon show their users) and to standard error.
func (o *ociOptions) verb(fn func(rt *container.OCIRuntime, args []string) error) func(*cobra.Command, []string) error {
	return func(_ *cobra.Command, args []string) error {
		rt, err := o.runtime()
		if err == nil {
			err = fn(rt, args)
		}
		if err != nil && o.logFile != nil && o.logger != nil {
			var ee *exitError
			if !errors.As(err, &ee) || ee.err != nil {
				o.logger.Log("error", err.Error())
			}
		}
		return err
	}
}

// ociExit carries a process's exit code (run, exec) with no error text.
func ociExit(code int, err error) error {
	if err != nil {
		return err
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// signalArg is kill's signal argument, SIGTERM when absent.
func signalArg(args []string) string {
	if len(args) > 1 {
		return args[1]
	}
	return "SIGTERM"
}

// ociIDArg is the usage line's ID argument.
const ociIDArg = "<container-id>"

func ociUse(verb string, extra ...string) string {
	return strings.Join(append([]string{verb, ociIDArg}, extra...), " ")
}
