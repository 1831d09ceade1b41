package main

import (
	"fmt"
	"runtime/debug"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func newVersionCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the edgerun version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(g.Stdout, "edgerun %s\n", version)
			if bi, ok := debug.ReadBuildInfo(); ok {
				fmt.Fprintf(g.Stdout, "go: %s\n", bi.GoVersion)
			}
			return nil
		},
	}
}

func humanBytes(n int64) string { return units.HumanSizeWithPrecision(float64(n), 3) }
