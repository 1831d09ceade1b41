package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
)

func newStatsCommand(g *globalOptions) *cobra.Command {
	var noStream bool
	var format string
	cmd := &cobra.Command{
		Use:   "stats [--no-stream] [--format table|json] [CONTAINER...]",
		Short: "Show CPU, memory, pids and network use of running containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "" && format != "table" && format != "json" {
				return fmt.Errorf("unknown --format %q: use table or json", format)
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			emit := func(round []container.ContainerStats) error { return statsTable(g, round, !noStream) }
			if format == "json" {
				enc := json.NewEncoder(g.Stdout)
				emit = func(round []container.ContainerStats) error {
					for _, s := range round {
						if err := enc.Encode(s); err != nil {
							return err
						}
					}
					return nil
				}
			}
			return rt.Stats(cmd.Context(), container.StatsOptions{Refs: args, Stream: !noStream, Emit: emit})
		},
	}
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "print one measurement and exit")
	cmd.Flags().StringVar(&format, "format", "", "output format: table (default) or json (one object per container and round)")
	return cmd
}

func statsTable(g *globalOptions, round []container.ContainerStats, clear bool) error {
	if clear {
		fmt.Fprint(g.Stdout, "\033[2J\033[H") // redraw in place, as docker stats
	}
	w := tabwriter.NewWriter(g.Stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintln(w, "CONTAINER ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tPIDS")
	for _, s := range round {
		fmt.Fprintf(w, "%s\t%s\t%.2f%%\t%s / %s\t%.2f%%\t%s / %s\t%d\n", s.ID[:12], s.Name, s.CPUPercent,
			units.BytesSize(float64(s.MemUsage)), units.BytesSize(float64(s.MemLimit)), s.MemPercent,
			units.HumanSize(float64(s.NetRx)), units.HumanSize(float64(s.NetTx)), s.Pids)
	}
	return w.Flush()
}
