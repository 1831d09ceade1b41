package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
)

func newWaitCommand(g *globalOptions) *cobra.Command {
	var cond string
	cmd := &cobra.Command{
		Use:   "wait [--condition not-running|next-exit|removed] CONTAINER [CONTAINER...]",
		Short: "Block until containers exit, and print their exit codes",
		Long: "Block until each container exits and print its exit code, one line each, in order.\n" +
			"A container whose restart policy restarts it counts as exited at its first exit,\n" +
			"as in docker. wait exits 0, or 1 when a container is unknown.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			var errs []error
			for _, ref := range args {
				code, err := rt.Wait(cmd.Context(), ref, cond)
				if err != nil {
					if cmd.Context().Err() != nil {
						return err
					}
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(g.Stdout, code)
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVar(&cond, "condition", container.WaitNotRunning, "wait for: not-running (now, or the next exit), next-exit, or removed")
	return cmd
}

func newPortCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "port CONTAINER [PRIVATE_PORT[/PROTO]]",
		Short: "List a running container's published ports",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			private := ""
			if len(args) == 2 {
				private = args[1]
			}
			lines, err := rt.Port(args[0], private)
			if err != nil {
				return err
			}
			for _, l := range lines {
				fmt.Fprintln(g.Stdout, l)
			}
			return nil
		},
	}
}

func newRenameCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "rename CONTAINER NEW_NAME",
		Short: "Rename a container, running or not",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			_, err = rt.Rename(cmd.Context(), args[0], args[1])
			return err
		},
	}
}

func newPauseCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "pause CONTAINER [CONTAINER...]",
		Short: "Freeze all processes of running containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(g, args, func(rt *container.Runtime, ref string) error {
				_, err := rt.Pause(cmd.Context(), ref)
				return err
			})
		},
	}
}

func newUnpauseCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "unpause CONTAINER [CONTAINER...]",
		Short: "Thaw paused containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(g, args, func(rt *container.Runtime, ref string) error {
				_, err := rt.Unpause(cmd.Context(), ref)
				return err
			})
		},
	}
}

func newTopCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top CONTAINER [ps OPTIONS]",
		Short: "List the processes of a running container",
		Long: "List the processes of a running container by their host PIDs: the columns of\n" +
			"ps -ef, read from /proc. With ps options, the host's ps runs with them and\n" +
			"its lines are filtered to the container's processes (it needs a PID column).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			var psArgs []string
			for _, a := range args[1:] {
				psArgs = append(psArgs, strings.Fields(a)...) // docker top takes "-o pid,comm" as one argument too
			}
			header, rows, err := rt.Top(cmd.Context(), args[0], psArgs)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(g.Stdout, 20, 1, 3, ' ', 0)
			fmt.Fprintln(w, strings.Join(header, "\t"))
			for _, r := range rows {
				fmt.Fprintln(w, strings.Join(r, "\t"))
			}
			return w.Flush()
		},
	}
	cmd.Flags().SetInterspersed(false) // options after CONTAINER are ps's
	return cmd
}

func newAttachCommand(g *globalOptions) *cobra.Command {
	var noStdin bool
	cmd := &cobra.Command{
		Use:   "attach [--no-stdin] CONTAINER",
		Short: "Attach to a detached container's output and input until it exits",
		Long: "Attach to a running detached container: its output from now on and, when it was\n" +
			"run with -i (and without -t), its input. attach exits with the container's exit\n" +
			"code when it exits; interrupting attach leaves the container running.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			opts := container.AttachOptions{Stdout: g.Stdout, Stderr: g.Stderr}
			if !noStdin {
				opts.Stdin = g.Stdin
			}
			code, err := rt.Attach(cmd.Context(), args[0], opts)
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noStdin, "no-stdin", false, "do not attach the input")
	return cmd
}

func newCreateCommand(g *globalOptions) *cobra.Command {
	var rf runFlags
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Create a container without starting it (start runs it, detached)",
		Long: "Create a container as run -d would, and print its ID: it stays created (ps -a\n" +
			"shows Created) until edgerun start runs it under its monitor. It takes run's\n" +
			"flags; -d is implied.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := rf.options(cmd, g, args)
			if err != nil {
				return err
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return &exitError{code: container.ExitRuntimeFailed, err: err}
			}
			pr := runPullEvents(g, &opts, rf.quiet)
			opts.Stdin = nil
			id, err := rt.Create(cmd.Context(), opts)
			pr.finish(nil)
			if err != nil {
				return &exitError{code: exitCodeOf(err), err: err}
			}
			fmt.Fprintln(g.Stdout, id)
			return nil
		},
	}
	f := cmd.Flags()
	f.Bool("help", false, "help for create") // -h is --hostname, as in docker
	addMonitorFlags(f, &rf.opts)
	rf.add(f)
	return cmd
}
