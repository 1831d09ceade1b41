package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/health"
)

// addHealthFlags adds docker's --health-* flags and podman's
// --health-on-failure to run.
func addHealthFlags(f *pflag.FlagSet, h *health.Flags) {
	f.StringVar(&h.Cmd, "health-cmd", "", "command to check the container's health, run with /bin/sh -c")
	f.DurationVar(&h.Interval, "health-interval", 0, "time between health checks (default 30s)")
	f.DurationVar(&h.Timeout, "health-timeout", 0, "time a health check may take (default 30s)")
	f.IntVar(&h.Retries, "health-retries", 0, "consecutive failures that make the container unhealthy (default 3)")
	f.DurationVar(&h.StartPeriod, "health-start-period", 0, "time after the start when failures do not count yet")
	f.DurationVar(&h.StartInterval, "health-start-interval", 0, "time between health checks during the start period (default 5s)")
	f.BoolVar(&h.None, "no-healthcheck", false, "disable the image's HEALTHCHECK")
	f.StringVar(&h.OnFailure, "health-on-failure", "", "action once unhealthy: none, kill, restart (with -d) or stop")
}

func newHealthcheckCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Run a container's health check",
		Args:  cobra.NoArgs,
		RunE:  unknownSubcommand,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "run CONTAINER",
		Short: "Run the container's health check once and print the status it leaves",
		Long: "Run the container's health check once, as its monitor does, record the result and\n" +
			"apply --health-on-failure when it leaves the container unhealthy. The exit code is\n" +
			"0 when the container is healthy (or still starting), 1 when it is unhealthy and\n" +
			"125 when the check cannot run.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return &exitError{code: container.ExitRuntimeFailed, err: err}
			}
			st, err := rt.Probe(cmd.Context(), args[0])
			if err != nil {
				return &exitError{code: container.ExitRuntimeFailed, err: err}
			}
			fmt.Fprintln(g.Stdout, st.Status)
			if st.Status == health.Unhealthy {
				return &exitError{code: 1}
			}
			return nil
		},
	})
	return cmd
}

// unknownSubcommand refuses a group command run without a known
// subcommand.
func unknownSubcommand(cmd *cobra.Command, _ []string) error {
	return &exitError{code: container.ExitRuntimeFailed,
		err: errors.New(cmd.CommandPath() + " needs a subcommand: see " + cmd.CommandPath() + " --help")}
}
