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
			var lf *listFormat
			if format != "" && format != "table" && format != "json" {
				f, err := parseListFormat(format, "")
				if err != nil {
					return err
				}
				lf = f
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			emit := func(round []container.ContainerStats) error { return statsTable(g, round, !noStream) }
			if lf != nil {
				emit = func(round []container.ContainerStats) error { return statsTemplate(g, lf, round, !noStream) }
			}
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
	cmd.Flags().StringVar(&format, "format", "", "output format: table (default), json (one object per container and round), or a Go template (see docs/cli.md)")
	return cmd
}

// statsColumns are the column names of stats' template fields, as docker's.
var statsColumns = map[string]string{
	"Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
	"MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
}

// statsRow is one container's measurement as docker's stats --format
// templates see it.
type statsRow struct {
	Container string // the name or ID as asked
	Name      string
	ID        string
	CPUPerc   string
	MemUsage  string
	MemPerc   string
	NetIO     string
	BlockIO   string // not measured: "--"
	PIDs      string
}

func statsTemplate(g *globalOptions, lf *listFormat, round []container.ContainerStats, clear bool) error {
	if clear && lf.table {
		fmt.Fprint(g.Stdout, "\033[2J\033[H")
	}
	rows := make([]any, 0, len(round))
	for _, s := range round {
		r := statsRow{
			Container: s.Name, Name: s.Name, ID: s.ID[:12], CPUPerc: fmt.Sprintf("%.2f%%", s.CPUPercent),
			MemUsage: units.BytesSize(float64(s.MemUsage)) + " / " + units.BytesSize(float64(s.MemLimit)),
			MemPerc:  fmt.Sprintf("%.2f%%", s.MemPercent),
			NetIO:    units.HumanSize(float64(s.NetRx)) + " / " + units.HumanSize(float64(s.NetTx)),
			BlockIO:  "--", PIDs: fmt.Sprint(s.Pids),
		}
		m, err := templateData(r)
		if err != nil {
			return err
		}
		rows = append(rows, m)
	}
	return lf.write(g.Stdout, headerData(statsColumns), rows)
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
