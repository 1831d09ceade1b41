package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/services"
)

func newBootCommand(g *globalOptions) *cobra.Command {
	var shutdown bool
	var secs int
	cmd := &cobra.Command{
		Use:   "boot [--shutdown [-t SECONDS]]",
		Short: "Start the containers that should run after the device boots (for the init system)",
		Long: "boot is run once by the init system when the device starts (see contrib/): it clears\n" +
			"what the previous boot left in the volatile state, repairs what edgerun check --quick\n" +
			"finds (reported on stderr), and starts every container whose\n" +
			"restart policy is always, or unless-stopped and not stopped by the user.\n" +
			"With --shutdown (when the device stops) it stops every running container cleanly,\n" +
			"without counting as a user stop, so the next boot starts them again.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := stopTimeout(secs)
			if err != nil {
				return err
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			var recs []*container.Record
			verb := "started"
			if shutdown {
				verb = "stopped"
				recs, err = services.Shutdown(cmd.Context(), rt, d)
			} else {
				recs, err = services.Boot(cmd.Context(), rt, services.BootOptions{Found: reportFindings(g)})
			}
			for _, r := range recs {
				fmt.Fprintf(g.Stdout, "%s %s\n", verb, r.Name)
			}
			return err
		},
	}
	cmd.Flags().BoolVar(&shutdown, "shutdown", false, "stop all running containers for a shutdown (boot starts them again)")
	addStopTimeout(cmd.Flags(), &secs, "with --shutdown: seconds to wait for the stop signal before SIGKILL")
	return cmd
}
