package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/internal/gotmpl"
)

// psTable is ps's default table, docker's.
const psTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

// psColumns are the column names of ps's template fields, as docker's.
var psColumns = map[string]string{
	"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT", "RunningFor": "CREATED",
	"Ports": "PORTS", "State": "STATE", "Status": "STATUS", "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS",
	"Mounts": "MOUNTS", "Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES",
}

type psOptions struct {
	container.PsOptions
	quiet, latest bool
	format        string
}

func newPsCommand(g *globalOptions) *cobra.Command {
	var o psOptions
	cmd := &cobra.Command{
		Use:   "ps [-a] [--filter KEY=VALUE] [--format TEMPLATE]",
		Short: "List containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPs(g, o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.All, "all", "a", false, "show stopped containers too")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only container IDs")
	f.StringVar(&o.format, "format", "", "output format: table (default), json (one object per line), or a Go template (see docs/cli.md)")
	f.StringArrayVarP(&o.Filters, "filter", "f", nil, "show only containers that match KEY=VALUE: name, id, status, label, ancestor, exited, health (repeatable)")
	f.IntVarP(&o.Last, "last", "n", 0, "show the N newest containers, in any state")
	f.BoolVarP(&o.latest, "latest", "l", false, "show the newest container, in any state")
	f.BoolVar(&o.NoTrunc, "no-trunc", false, "do not shorten IDs and commands")
	f.BoolVarP(&o.Size, "size", "s", false, "show the size of each container's writable layer")
	return cmd
}

func runPs(g *globalOptions, o psOptions) error {
	def := psTable
	if o.Size {
		def += "\t{{.Size}}"
	}
	lf, err := parseListFormat(o.format, def)
	if err != nil {
		return err
	}
	if _, err := container.ParsePsFilters(o.Filters); err != nil {
		return err
	}
	if strings.Contains(o.format, ".Size") {
		o.Size = true // as docker: a template that shows the size measures it
	}
	if o.latest {
		o.Last = 1
	}
	if o.Last < 0 {
		o.Last = 0
	}
	rt, err := container.Open(g.config())
	if err != nil {
		return err
	}
	entries, err := rt.Ps(o.PsOptions)
	if err != nil {
		return err
	}
	reportQuarantine(g, rt)
	if o.quiet {
		for _, e := range entries {
			fmt.Fprintln(g.Stdout, e.ID)
		}
		return nil
	}
	rows := make([]any, len(entries))
	for i, e := range entries {
		m, err := templateData(e)
		if err != nil {
			return err
		}
		m["Label"] = labelMethod(e.LabelMap)
		rows[i] = m
	}
	h := headerData(psColumns)
	h["Label"] = gotmpl.Method(func([]any) (any, error) { return "LABEL", nil })
	return lf.write(g.Stdout, h, rows)
}

// labelMethod is ps's {{.Label "KEY"}}: the label's value, "" without it.
func labelMethod(labels map[string]string) gotmpl.Method {
	return func(args []any) (any, error) {
		if len(args) != 1 {
			return nil, fmt.Errorf("want one label name, got %d arguments", len(args))
		}
		k, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("want a label name, got %v", args[0])
		}
		return labels[k], nil
	}
}

func newRmCommand(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm [-f] CONTAINER [CONTAINER...]",
		Short: "Remove containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(g, args, func(rt *container.Runtime, ref string) error {
				_, err := rt.RemoveContainer(cmd.Context(), ref, force)
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill and remove a running container")
	// docker's -v removes anonymous volumes; edgerun has none, and named
	// volumes stay, as in docker.
	cmd.Flags().BoolP("volumes", "v", false, "accepted for docker's scripts: edgerun has no anonymous volumes; named volumes are kept")
	return cmd
}

func newInspectCommand(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [-f TEMPLATE] CONTAINER [CONTAINER...]",
		Short: "Show containers as docker's inspect document (JSON), or through a Go template",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(g, format, "    ", args, func(rt *container.Runtime, ref string) (any, error) {
				return rt.InspectDocument(ref)
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "print each container through a Go template, e.g. '{{.State.ExitCode}}' (see docs/cli.md)")
	return cmd
}

// reportQuarantine tells the user about container directories moved aside
// because their record was damaged: nothing of them was deleted.
func reportQuarantine(g *globalOptions, rt *container.Runtime) {
	q, _ := rt.Quarantine()
	for _, e := range q {
		fmt.Fprintf(g.Stderr, "edgerun: note: %s is quarantined: %s (its files are kept: look inside, then remove it)\n", e.Path, e.Reason)
	}
}
