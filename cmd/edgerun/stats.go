package main

import (
	"encoding/json"
	"fmt"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
)

func newStatsCommand(g *globalOptions) *cobra.Command {
	var noStream bool
	var format string
	cmd := &cobra.Command{
		Use:   "stats [--no-stream] [--format table|json] [CONTAINER...]",
		Short: "Show CPU, memory, pids, block I/O and network use of running containers",
		RunE: func(cmd *cobra.Command, args []string) error {
			out, err := newStatsOutput(g, format, !noStream)
			if err != nil {
				return err
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			return rt.Stats(cmd.Context(), container.StatsOptions{Refs: args, Stream: !noStream, Emit: out.emit, Notice: out.notice})
		},
	}
	cmd.Flags().BoolVar(&noStream, "no-stream", false, "print one measurement and exit")
	cmd.Flags().StringVar(&format, "format", "", "output format: table (default), json (one object per container and round), or a Go template (see docs/cli.md)")
	return cmd
}

// Docker's default stats table, and edgerun's with the pressure columns
// that a round shows when a container has PSI figures (cgroup v2).
const (
	statsTableFormat    = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"
	statsTablePSIFormat = statsTableFormat + "\t{{.MemPressure}}\t{{.CPUPressure}}"
)

// statsOutput prints stats' rounds in one of its formats.
type statsOutput struct {
	g      *globalOptions
	json   *json.Encoder
	tmpl   *listFormat // a template, or the default table
	psi    *listFormat // the default table with pressure columns
	redraw bool        // clear the screen before each table round (streaming)
	note   string      // the memory note, shown again below each redrawn table
}

func newStatsOutput(g *globalOptions, format string, stream bool) (*statsOutput, error) {
	o := &statsOutput{g: g}
	var err error
	switch format {
	case "json":
		o.json = json.NewEncoder(g.Stdout)
		return o, nil
	case "", "table":
		if o.psi, err = parseListFormat(statsTablePSIFormat, ""); err != nil {
			return nil, err
		}
		format = statsTableFormat
	}
	if o.tmpl, err = parseListFormat(format, ""); err != nil {
		return nil, err
	}
	o.redraw = stream && o.tmpl.table
	return o, nil
}

// notice prints the library's note on stderr. While a table is redrawn in
// place on a terminal, each redraw would wipe it: it comes again below
// each table there.
func (o *statsOutput) notice(msg string) {
	fmt.Fprintf(o.g.Stderr, "edgerun: note: %s\n", msg)
	if o.redraw && isTerminalOutput(o.g.Stdout) && isTerminalOutput(o.g.Stderr) {
		o.note = msg
	}
}

func (o *statsOutput) emit(round []container.ContainerStats) error {
	if o.json != nil {
		for _, s := range round {
			if err := o.json.Encode(s); err != nil {
				return err
			}
		}
		return nil
	}
	rows := make([]any, 0, len(round))
	f := o.tmpl
	for _, s := range round {
		r := newStatsRow(s)
		if o.psi != nil && (s.MemPressure != nil || s.CPUPressure != nil) {
			f = o.psi
		}
		m, err := templateData(r)
		if err != nil {
			return err
		}
		rows = append(rows, m)
	}
	if o.redraw {
		fmt.Fprint(o.g.Stdout, "\033[2J\033[H") // redraw in place, as docker stats
	}
	if err := f.write(o.g.Stdout, headerData(statsColumns), rows); err != nil {
		return err
	}
	if o.note != "" {
		fmt.Fprintf(o.g.Stderr, "edgerun: note: %s\n", o.note)
	}
	return nil
}

// statsColumns are the column names of stats' template fields, as docker's.
var statsColumns = map[string]string{
	"Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT",
	"MemPerc": "MEM %", "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
	"MemCache": "MEM CACHE", "MemAnon": "MEM ANON", "MemKernel": "MEM KERNEL", "Swap": "SWAP",
	"MemPressure": "MEM PSI", "CPUPressure": "CPU PSI",
}

// statsRow is one container's measurement as docker's stats --format
// templates see it, with edgerun's memory breakdown and pressure fields.
// A figure the kernel does not give is "--".
type statsRow struct {
	Container string // the name or ID as asked
	Name      string
	ID        string
	CPUPerc   string
	MemUsage  string
	MemPerc   string
	NetIO     string
	BlockIO   string
	PIDs      string
	MemCache  string
	MemAnon   string
	MemKernel string
	Swap      string
	// MemPressure is "SOME / FULL", CPUPressure "SOME": PSI's avg10, in
	// percent of the last 10 s.
	MemPressure string
	CPUPressure string
}

const notMeasured = "--"

func newStatsRow(s container.ContainerStats) statsRow {
	r := statsRow{
		Container: s.Name, Name: s.Name, ID: s.ID[:12], CPUPerc: fmt.Sprintf("%.2f%%", s.CPUPercent),
		MemUsage: notMeasured, MemPerc: notMeasured, MemCache: notMeasured, MemAnon: notMeasured,
		MemKernel: notMeasured, Swap: notMeasured, MemPressure: notMeasured, CPUPressure: notMeasured,
		NetIO:   units.HumanSizeWithPrecision(float64(s.NetRx), 3) + " / " + units.HumanSizeWithPrecision(float64(s.NetTx), 3),
		BlockIO: units.HumanSizeWithPrecision(float64(s.BlockRead), 3) + " / " + units.HumanSizeWithPrecision(float64(s.BlockWrite), 3),
		PIDs:    fmt.Sprint(s.Pids),
	}
	if m := s.Memory; m != nil {
		r.MemUsage = units.BytesSize(float64(m.MemUsage)) + " / " + units.BytesSize(float64(m.MemLimit))
		r.MemPerc = fmt.Sprintf("%.2f%%", m.MemPercent)
		r.MemCache, r.MemAnon = units.BytesSize(float64(m.MemCache)), units.BytesSize(float64(m.MemAnon))
		r.MemKernel, r.Swap = optionalBytes(m.MemKernel), optionalBytes(m.Swap)
	}
	if p := s.MemPressure; p != nil {
		r.MemPressure = fmt.Sprintf("%.2f / %.2f", p.Some, p.Full)
	}
	if p := s.CPUPressure; p != nil {
		r.CPUPressure = fmt.Sprintf("%.2f", p.Some)
	}
	return r
}

func optionalBytes(v *uint64) string {
	if v == nil {
		return notMeasured
	}
	return units.BytesSize(float64(*v))
}
