package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/logfile"
	"github.com/edgerun/edgerun/specgen"
)

// eachContainer runs act for every argument, printing each one done, and
// returns the joined errors (exit 1, as docker).
func eachContainer(g *globalOptions, args []string, act func(rt *container.Runtime, ref string) error) error {
	rt, err := container.Open(g.config())
	if err != nil {
		return err
	}
	var errs []error
	for _, ref := range args {
		if err := act(rt, ref); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintln(g.Stdout, ref)
	}
	return errors.Join(errs...)
}

// addStopTimeout adds -t SECONDS (stop, restart, boot --shutdown): how long
// to wait for the stop signal before SIGKILL.
func addStopTimeout(f *pflag.FlagSet, secs *int, usage string) {
	f.IntVarP(secs, "time", "t", int(container.DefaultStopTimeout/time.Second), usage)
}

// stopTimeout checks -t SECONDS.
func stopTimeout(secs int) (time.Duration, error) {
	if secs < 0 {
		return 0, fmt.Errorf("-t %d: give the seconds to wait before SIGKILL, 0 or more", secs)
	}
	return time.Duration(secs) * time.Second, nil
}

func newStopCommand(g *globalOptions) *cobra.Command {
	return newTimedCommand(g, "stop [-t SECONDS] [-s SIGNAL] CONTAINER [CONTAINER...]", "Stop running containers (stop signal, then SIGKILL); no restart follows",
		func(ctx context.Context, rt *container.Runtime, ref string, d time.Duration, sig unix.Signal) error {
			_, err := rt.StopSignal(ctx, ref, d, sig)
			return err
		})
}

func newRestartCommand(g *globalOptions) *cobra.Command {
	return newTimedCommand(g, "restart [-t SECONDS] [-s SIGNAL] CONTAINER [CONTAINER...]", "Stop and start containers",
		func(ctx context.Context, rt *container.Runtime, ref string, d time.Duration, sig unix.Signal) error {
			_, err := rt.Restart(ctx, ref, d, sig)
			return err
		})
}

// newTimedCommand is stop or restart: act for each container, with -t and
// -s.
func newTimedCommand(g *globalOptions, use, short string, act func(context.Context, *container.Runtime, string, time.Duration, unix.Signal) error) *cobra.Command {
	var secs int
	var signal string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := stopTimeout(secs)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("time") {
				d = -1 // each container's --stop-timeout, else the default
			}
			var sig unix.Signal // 0: each container's stop signal
			if signal != "" {
				if sig, err = specgen.ParseSignal(signal); err != nil {
					return err
				}
			}
			return eachContainer(g, args, func(rt *container.Runtime, ref string) error {
				return act(cmd.Context(), rt, ref, d, sig)
			})
		},
	}
	addStopTimeout(cmd.Flags(), &secs, "seconds to wait for the stop signal before SIGKILL (default: the container's --stop-timeout, else 10)")
	cmd.Flags().StringVarP(&signal, "signal", "s", "", "signal to stop with: name (TERM, SIGINT) or number (default: the container's --stop-signal, else the image's, else TERM)")
	return cmd
}

func newKillCommand(g *globalOptions) *cobra.Command {
	var sig string
	cmd := &cobra.Command{
		Use:   "kill [-s SIGNAL] CONTAINER [CONTAINER...]",
		Short: "Send a signal (default KILL) to running containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := specgen.ParseSignal(sig)
			if err != nil {
				return err
			}
			return eachContainer(g, args, func(rt *container.Runtime, ref string) error {
				_, err := rt.Kill(cmd.Context(), ref, s)
				return err
			})
		},
	}
	cmd.Flags().StringVarP(&sig, "signal", "s", "KILL", "signal to send: name (TERM, SIGHUP) or number")
	return cmd
}

func newStartCommand(g *globalOptions) *cobra.Command {
	var attach, interactive bool
	cmd := &cobra.Command{
		Use:   "start [-a [-i]] CONTAINER [CONTAINER...]",
		Short: "Start created or stopped containers, detached (same record, files and name)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !attach {
				if interactive {
					return errors.New("start -i attaches the input: give -a too")
				}
				return eachContainer(g, args, func(rt *container.Runtime, ref string) error {
					_, err := rt.Start(cmd.Context(), ref)
					return err
				})
			}
			if len(args) > 1 {
				return errors.New("start -a attaches to one container: give one")
			}
			return startAttached(cmd.Context(), g, args[0], interactive)
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "attach to the container's output until it exits, and exit with its code")
	cmd.Flags().BoolVarP(&interactive, "interactive", "i", false, "with -a: attach the input too (a container run with -i)")
	return cmd
}

// startAttached is start -a: the output of the run it starts (none lost:
// attach reads the log from the start's time), the exit code its own.
func startAttached(ctx context.Context, g *globalOptions, ref string, interactive bool) error {
	rt, err := container.Open(g.config())
	if err != nil {
		return err
	}
	since := time.Now()
	if _, err := rt.Start(ctx, ref); err != nil {
		return err
	}
	opts := container.AttachOptions{Stdout: g.Stdout, Stderr: g.Stderr, Since: since}
	if interactive {
		opts.Stdin = g.Stdin
	}
	code, err := rt.Attach(ctx, ref, opts)
	if err != nil || code != 0 {
		return &exitError{code: max(code, 1), err: err}
	}
	return nil
}

func newLogsCommand(g *globalOptions) *cobra.Command {
	opts := logfile.PrintOptions{Tail: -1}
	var since, until, tail string
	cmd := &cobra.Command{
		Use:   "logs [-f] [--tail N] [--since T] [--until T] [-t] [--details] CONTAINER",
		Short: "Show the output of a detached container",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.Since, err = parseTime("--since", since, time.Now()); err != nil {
				return err
			}
			if opts.Until, err = parseTime("--until", until, time.Now()); err != nil {
				return err
			}
			if tail != "all" {
				if opts.Tail, err = strconv.Atoi(tail); err != nil || opts.Tail < 0 {
					return fmt.Errorf("--tail %q: give a number of lines, or all", tail)
				}
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			opts.Stdout, opts.Stderr = g.Stdout, g.Stderr
			return rt.Logs(cmd.Context(), args[0], opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.Follow, "follow", "f", false, "follow new output until the container stops")
	f.StringVarP(&tail, "tail", "n", "all", "show only the last N lines")
	f.StringVar(&since, "since", "", "show lines since a time (RFC 3339, like 2026-11-30T16:00:00Z) or a duration ago (10m)")
	f.StringVar(&until, "until", "", "show lines until a time (RFC 3339) or a duration ago (10m); -f stops there")
	f.BoolVarP(&opts.Timestamps, "timestamps", "t", false, "prefix each line with its time")
	f.BoolVar(&opts.Details, "details", false, "prefix each line with its log attributes, as docker (edgerun's have none: a space)")
	return cmd
}
