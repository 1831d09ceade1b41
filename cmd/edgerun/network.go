package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
)

func newNetworkCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage the bridge network",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "prune",
		Short: "Remove the bridge (--bridge) and its nftables table when no container uses them",
		Long: "Remove the bridge named by --bridge, its nftables table and its lease directory.\n" +
			"Refused while a container of this root (running or stopped) has an address on it.\n" +
			"The next `run --network bridge` makes them again.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			if err := rt.PruneNetwork(); err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, g.Bridge)
			return nil
		},
	})
	return cmd
}
