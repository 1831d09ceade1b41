package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/oci"
)

// ociCreateFlags are the flags create and run share.
func ociCreateFlags(cmd *cobra.Command, c *container.OCICreateOptions) {
	f := cmd.Flags()
	f.StringVarP(&c.Bundle, "bundle", "b", "", "the bundle directory (default the working directory)")
	f.StringVar(&c.PidFile, "pid-file", "", "write the init's PID to this file")
	f.StringVar(&c.ConsoleSocket, "console-socket", "", "AF_UNIX socket that receives the pty master (a process with a terminal)")
	f.BoolVar(&c.NoPivot, "no-pivot", false, "do not use pivot_root (a root on a ramdisk)")
	f.BoolVar(&c.NoNewKeyring, "no-new-keyring", false, "keep the caller's session keyring")
	f.IntVar(&c.PreserveFDs, "preserve-fds", 0, "pass this many more file descriptors (3 and on) to the container")
}

func (o *ociOptions) createOptions(c *container.OCICreateOptions, id string) container.OCICreateOptions {
	opts := *c
	opts.ID = id
	opts.Stdin, opts.Stdout, opts.Stderr = o.Stdin, o.Stdout, o.Stderr
	return opts
}

func newOCICreateCommand(o *ociOptions) *cobra.Command {
	var c container.OCICreateOptions
	cmd := &cobra.Command{
		Use:   ociUse("create"),
		Short: "Create a container from a bundle; its process waits for start",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = o.verb(func(rt *container.OCIRuntime, args []string) error {
		return rt.Create(o.createOptions(&c, args[0]))
	})
	ociCreateFlags(cmd, &c)
	return cmd
}

func newOCIRunCommand(o *ociOptions) *cobra.Command {
	var c container.OCICreateOptions
	cmd := &cobra.Command{
		Use:   ociUse("run"),
		Short: "Create and start a container; without --detach wait for it and delete it",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = o.verb(func(rt *container.OCIRuntime, args []string) error {
		return ociExit(rt.Run(cmd.Context(), o.createOptions(&c, args[0])))
	})
	ociCreateFlags(cmd, &c)
	cmd.Flags().BoolVarP(&c.Detach, "detach", "d", false, "return once the container runs")
	cmd.Flags().BoolVar(&c.Keep, "keep", false, "do not delete the container after it exits")
	return cmd
}

func newOCIStartCommand(o *ociOptions) *cobra.Command {
	cmd := &cobra.Command{Use: ociUse("start"), Short: "Start the process of a created container", Args: cobra.ExactArgs(1)}
	cmd.RunE = o.verb(func(rt *container.OCIRuntime, args []string) error { return rt.Start(args[0]) })
	return cmd
}

func newOCIStateCommand(o *ociOptions) *cobra.Command {
	cmd := &cobra.Command{Use: ociUse("state"), Short: "Print the container's state document (JSON)", Args: cobra.ExactArgs(1)}
	cmd.RunE = o.verb(func(rt *container.OCIRuntime, args []string) error {
		s, err := rt.State(args[0])
		if err != nil {
			return err
		}
		return o.printJSON(s)
	})
	return cmd
}

func (o *ociOptions) printJSON(v any) error {
	enc := json.NewEncoder(o.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newOCIKillCommand(o *ociOptions) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   ociUse("kill", "[signal]"),
		Short: "Send a signal (default SIGTERM) to the container's init, or with --all to all its processes",
		Args:  cobra.RangeArgs(1, 2),
	}
	cmd.RunE = o.verb(func(rt *container.OCIRuntime, args []string) error {
		return rt.Kill(args[0], signalArg(args), all)
	})
	cmd.Flags().BoolVarP(&all, "all", "a", false, "signal every process of the container")
	return cmd
}

func newOCIDeleteCommand(o *ociOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{Use: ociUse("delete"), Short: "Delete a stopped or created container", Args: cobra.ExactArgs(1)}
	cmd.RunE = o.verb(func(rt *container.OCIRuntime, args []string) error { return rt.Delete(args[0], force) })
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill a running container first; no error when it does not exist")
	return cmd
}

func newOCIExecCommand(o *ociOptions) *cobra.Command {
	var (
		e       container.OCIExecOptions
		process string
		gids    []int
	)
	cmd := &cobra.Command{
		Use:   ociUse("exec", "[command [args...]]"),
		Short: "Run another process in the container",
		Args:  cobra.MinimumNArgs(1),
	}
	cmd.Flags().SetInterspersed(false)
	cmd.RunE = o.verb(func(rt *container.OCIRuntime, args []string) error {
		opts := e
		opts.ID, opts.Args = args[0], args[1:]
		opts.AdditionalGids = gids
		opts.Stdin, opts.Stdout, opts.Stderr = o.Stdin, o.Stdout, o.Stderr
		if process != "" {
			p, err := oci.ReadProcess(process)
			if err != nil {
				return err
			}
			opts.Process = p
		}
		return ociExit(rt.Exec(cmd.Context(), opts))
	})
	f := cmd.Flags()
	f.StringVarP(&process, "process", "p", "", "a process document (runtime-spec process JSON)")
	f.BoolVarP(&e.Detach, "detach", "d", false, "return once the process runs")
	f.StringVar(&e.PidFile, "pid-file", "", "write the process's PID to this file")
	f.StringVar(&e.ConsoleSocket, "console-socket", "", "AF_UNIX socket that receives the pty master")
	f.BoolVarP(&e.TTY, "tty", "t", false, "give the process a terminal")
	f.IntVar(&e.PreserveFDs, "preserve-fds", 0, "pass this many more file descriptors (3 and on)")
	f.StringVar(&e.Cwd, "cwd", "", "working directory in the container")
	f.StringArrayVarP(&e.Env, "env", "e", nil, "set an environment variable KEY=VALUE")
	f.StringVarP(&e.User, "user", "u", "", "UID[:GID] to run as")
	f.IntSliceVarP(&gids, "additional-gids", "g", nil, "more group IDs")
	f.StringArrayVarP(&e.Caps, "cap", "c", nil, "add a capability")
	f.BoolVar(&e.NoNewPrivs, "no-new-privs", false, "set no_new_privs")
	return cmd
}

func newOCIPsCommand(o *ociOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   ociUse("ps", "[ps options]"),
		Short: "List the container's processes (ps -ef's lines, or --format json PIDs)",
		Args:  cobra.MinimumNArgs(1),
	}
	cmd.Flags().SetInterspersed(false)
	cmd.RunE = o.verb(func(rt *container.OCIRuntime, args []string) error {
		pids, err := rt.Processes(args[0])
		if err != nil {
			return err
		}
		switch format {
		case "json":
			return json.NewEncoder(o.Stdout).Encode(pids)
		case "table", "":
			return o.psTable(pids, args[1:])
		}
		return fmt.Errorf("--format %q: use table or json", format)
	})
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	return cmd
}

// psTable prints the lines of the host's ps (default -ef) that are the
// container's processes.
func (o *ociOptions) psTable(pids []int, psArgs []string) error {
	if len(psArgs) == 0 {
		psArgs = []string{"-ef"}
	}
	out, err := exec.Command("ps", psArgs...).Output()
	if err != nil {
		return fmt.Errorf("ps %s: %w", strings.Join(psArgs, " "), err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	col := -1
	for i, h := range strings.Fields(lines[0]) {
		if h == "PID" {
			col = i
		}
	}
	if col < 0 {
		return fmt.Errorf("ps %s printed no PID column", strings.Join(psArgs, " "))
	}
	want := map[string]bool{}
	for _, p := range pids {
		want[strconv.Itoa(p)] = true
	}
	fmt.Fprintln(o.Stdout, lines[0])
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > col && want[f[col]] {
			fmt.Fprintln(o.Stdout, l)
		}
	}
	return nil
}

func newOCIPauseCommand(o *ociOptions, pause bool) *cobra.Command {
	cmd := &cobra.Command{Use: ociUse("pause"), Short: "Freeze every process of the container", Args: cobra.ExactArgs(1)}
	if !pause {
		cmd.Use, cmd.Short = ociUse("resume"), "Thaw a paused container"
	}
	cmd.RunE = o.verb(func(rt *container.OCIRuntime, args []string) error {
		if pause {
			return rt.Pause(args[0])
		}
		return rt.Resume(args[0])
	})
	return cmd
}

func newOCIUpdateCommand(o *ociOptions) *cobra.Command {
	var (
		resources string
		u         updateFlags
	)
	cmd := &cobra.Command{
		Use:   ociUse("update"),
		Short: "Change the container's cgroup limits (--resources FILE, - for standard input, or flags)",
		Args:  cobra.ExactArgs(1),
	}
	cmd.RunE = o.verb(func(rt *container.OCIRuntime, args []string) error {
		res, err := u.resources(cmd, resources, o.Stdin)
		if err != nil {
			return err
		}
		return rt.Update(args[0], res)
	})
	cmd.Flags().StringVarP(&resources, "resources", "r", "", "a linux.resources document (JSON); - reads standard input")
	u.register(cmd)
	return cmd
}

func newOCIFeaturesCommand(o *ociOptions) *cobra.Command {
	return &cobra.Command{
		Use: "features", Short: "Print what this runtime implements (runtime-spec features JSON)", Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return o.printJSON(container.OCIFeatures(version)) },
	}
}

func newOCIListCommand(o *ociOptions) *cobra.Command {
	var (
		format string
		quiet  bool
	)
	cmd := &cobra.Command{Use: "list", Aliases: []string{"ls"}, Short: "List the containers of --root", Args: cobra.NoArgs}
	cmd.RunE = o.verb(func(rt *container.OCIRuntime, _ []string) error {
		states, err := rt.List()
		if err != nil {
			return err
		}
		switch {
		case quiet:
			for _, s := range states {
				fmt.Fprintln(o.Stdout, s.ID)
			}
		case format == "json":
			if states == nil {
				states = []oci.State{}
			}
			return json.NewEncoder(o.Stdout).Encode(states)
		case format == "table" || format == "":
			w := tabwriter.NewWriter(o.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, s := range states {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), s.Owner)
			}
			return w.Flush()
		default:
			return fmt.Errorf("--format %q: use table or json", format)
		}
		return nil
	})
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the IDs")
	return cmd
}

func newOCISpecCommand(o *ociOptions) *cobra.Command {
	var (
		bundle   string
		rootless bool
	)
	cmd := &cobra.Command{
		Use:   "spec",
		Short: "Write a starting config.json into the bundle (a shell in ./rootfs)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path := filepath.Join(bundle, "config.json")
			if _, err := os.Lstat(path); err == nil {
				return fmt.Errorf("%s exists: remove it first", path)
			}
			b, err := json.MarshalIndent(container.OCIExampleSpec(rootless), "", "\t")
			if err != nil {
				return err
			}
			return atomicfile.WriteFile(path, append(b, '\n'), 0o644)
		},
	}
	cmd.Flags().StringVarP(&bundle, "bundle", "b", ".", "the bundle directory")
	cmd.Flags().BoolVar(&rootless, "rootless", false, "a spec for an ordinary user (a user namespace mapping the caller)")
	return cmd
}
