package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/edgerun/edgerun/container"
)

// addDetachFlags adds the flags of detached containers to run.
func addDetachFlags(f *pflag.FlagSet, opts *container.RunOptions, detach *bool) {
	f.BoolVarP(detach, "detach", "d", false, "run in the background under a monitor and print the container ID")
	addMonitorFlags(f, opts)
}

// addMonitorFlags adds the flags of a container's monitor (run -d, create).
func addMonitorFlags(f *pflag.FlagSet, opts *container.RunOptions) {
	f.StringVar(&opts.DetachOpts.Restart, "restart", "no", "restart policy with -d: no, on-failure[:max], always, unless-stopped")
	f.StringArrayVar(&opts.DetachOpts.LogOpts, "log-opt", nil, "log option with -d: max-size=5m, max-file=3")
}

// runDetached starts the container under its monitor and prints its ID.
func runDetached(cmd *cobra.Command, g *globalOptions, rt *container.Runtime, opts container.RunOptions) error {
	opts.Stdin = nil
	id, err := rt.RunDetached(cmd.Context(), opts)
	if err != nil {
		return &exitError{code: exitCodeOf(err), err: err}
	}
	fmt.Fprintln(g.Stdout, id)
	return nil
}

func exitCodeOf(err error) int {
	var ee *container.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return container.ExitRuntimeFailed
}
