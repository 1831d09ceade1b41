package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/images"
	"github.com/edgerun/edgerun/internal/gotmpl"
	"github.com/edgerun/edgerun/services"
)

func newSystemCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system",
		Short: "Disk usage, pruning and information of this edgerun",
		Args:  cobra.NoArgs,
	}
	info := newInfoCommand(g)
	cmd.AddCommand(newSystemDfCommand(g), newSystemPruneCommand(g), info)
	return cmd
}

// dfTable is system df's default table, docker's.
const dfTable = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"

var dfColumns = map[string]string{"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE", "Reclaimable": "RECLAIMABLE"}

// dfRow is one line of system df as docker's templates see it.
type dfRow struct {
	Type        string
	TotalCount  string
	Active      string
	Size        string
	Reclaimable string
}

func newSystemDfCommand(g *globalOptions) *cobra.Command {
	var verbose bool
	var format string
	cmd := &cobra.Command{
		Use:   "df [-v] [--format table|json|TEMPLATE]",
		Short: "Show the disk space images, containers and volumes use",
		Long: "Show the disk space of the image store (blobs and unpacked layers, each counted once),\n" +
			"of the containers' writable layers and of the named volumes, and how much of it prune\n" +
			"would free. Image sizes are read from what edgerun recorded; container layers and\n" +
			"volumes are walked. -v lists every image, container and volume.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			lf, err := parseListFormat(format, dfTable)
			if err != nil {
				return err
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			du, err := rt.DiskUsage(time.Now())
			if err != nil {
				return err
			}
			if verbose {
				return writeDfVerbose(g, format, du)
			}
			var rows []any
			for _, r := range du.Rows() {
				m, err := templateData(dfRowOf(r))
				if err != nil {
					return err
				}
				rows = append(rows, m)
			}
			return lf.write(g.Stdout, headerData(dfColumns), rows)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "list every image, container and volume")
	cmd.Flags().StringVar(&format, "format", "", "output format: table (default), json (one object per line; with -v one document), or a Go template")
	return cmd
}

func dfRowOf(r container.UsageRow) dfRow {
	row := dfRow{Type: r.Type, TotalCount: strconv.Itoa(r.Total), Active: strconv.Itoa(r.Active),
		Size: humanBytes(r.Size), Reclaimable: humanBytes(r.Reclaimable)}
	if r.Size > 0 {
		row.Reclaimable += fmt.Sprintf(" (%d%%)", r.Reclaimable*100/r.Size)
	}
	return row
}

// dfVerbose is system df -v's document for a template or json.
type dfVerbose struct {
	Images     []imageRow
	Containers []container.PsEntry
	Volumes    []dfVolumeRow
	BuildCache []struct{}
}

type dfVolumeRow struct {
	Name  string
	Links string
	Size  string
}

const (
	dfImagesTable     = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}"
	dfContainersTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}"
	dfVolumesTable    = "table {{.Name}}\t{{.Links}}\t{{.Size}}"
)

// writeDfVerbose prints docker's three sections of df -v, or the whole
// document through --format.
func writeDfVerbose(g *globalOptions, format string, du container.DiskUsage) error {
	doc := dfVerbose{Images: []imageRow{}, Containers: []container.PsEntry{}, Volumes: []dfVolumeRow{}, BuildCache: []struct{}{}}
	for _, i := range du.Images.Images {
		doc.Images = append(doc.Images, dfImageRow(i))
	}
	for _, c := range du.Containers {
		e := c.PsEntry
		e.ID = shortDigest(e.ID)
		doc.Containers = append(doc.Containers, e)
	}
	for _, v := range du.Volumes {
		doc.Volumes = append(doc.Volumes, dfVolumeRow{Name: v.Name, Links: strconv.Itoa(v.Links), Size: humanBytes(v.Size)})
	}
	if format != "" && format != "table" {
		return writeTemplate(g, format, doc)
	}
	sections := []struct {
		title, table string
		cols         map[string]string
		rows         []any
	}{
		{"Images space usage:", dfImagesTable, imageColumns, anys(doc.Images)},
		{"Containers space usage:", dfContainersTable, psColumns, anys(doc.Containers)},
		{"Local Volumes space usage:", dfVolumesTable, map[string]string{"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"}, anys(doc.Volumes)},
	}
	for i, s := range sections {
		if i > 0 {
			fmt.Fprintln(g.Stdout)
		}
		fmt.Fprintf(g.Stdout, "%s\n\n", s.title)
		lf, err := parseListFormat(s.table, "")
		if err != nil {
			return err
		}
		rows := make([]any, 0, len(s.rows))
		for _, r := range s.rows {
			m, err := templateData(r)
			if err != nil {
				return err
			}
			rows = append(rows, m)
		}
		if err := lf.write(g.Stdout, headerData(s.cols), rows); err != nil {
			return err
		}
	}
	fmt.Fprintf(g.Stdout, "\nBuild cache usage: %s\n", humanBytes(0))
	return nil
}

func dfImageRow(i images.ImageUsage) imageRow {
	r := imageRow{Repository: "<none>", Tag: "<none>", ID: shortDigest(i.Digest.Encoded()), Digest: i.Digest.String(),
		CreatedSince: ago(i.Created), Size: humanBytes(i.Size), VirtualSize: humanBytes(i.Size),
		SharedSize: humanBytes(i.SharedSize), UniqueSize: humanBytes(i.Size - i.SharedSize), Containers: strconv.Itoa(i.Containers)}
	if !i.Created.IsZero() {
		r.CreatedAt = i.Created.Local().Format("2006-01-02 15:04:05 -0700 MST")
	}
	if len(i.Names) > 0 {
		r.Repository, r.Tag = splitTag(familiarName(i.Names[0]))
	}
	return r
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// writeTemplate prints one document through --format (json: the whole).
func writeTemplate(g *globalOptions, format string, doc any) error {
	if format == "json" {
		format = "{{json .}}"
	}
	t, err := gotmpl.Parse(strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format))
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	data, err := templateData(doc)
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return err
	}
	fmt.Fprintln(g.Stdout, b.String())
	return nil
}

func newInfoCommand(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "info [--format TEMPLATE|json]",
		Short: "Show this edgerun's containers, images, settings and host",
		Long: "Show the counts of containers and images, where edgerun keeps its state, how it runs\n" +
			"containers (cgroups, security options, the bridge) and the host (kernel, OS, CPUs,\n" +
			"memory), with docker info's field names for --format ('{{.Containers}}', json).",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if format != "" && format != "json" {
				if _, err := gotmpl.Parse(format); err != nil {
					return fmt.Errorf("--format: %w", err)
				}
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			exe, _ := os.Executable()
			doc, err := services.Info(rt, services.InfoOptions{Host: doctorRunOptions(g), Version: version,
				Libcontainer: moduleVersion("github.com/opencontainers/runc"), Binary: exe})
			if err != nil {
				return err
			}
			if format != "" {
				return writeTemplate(g, format, doc)
			}
			return doc.WriteText(g.Stdout)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "print through a Go template, e.g. '{{.Containers}}', or json")
	return cmd
}

// moduleVersion is the version of a module linked into this binary.
func moduleVersion(path string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			return d.Version
		}
	}
	return ""
}

// newContainerCommand is docker's container group: prune, and the
// container verbs under their docker names (container ls is ps).
func newContainerCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "container",
		Short: "Manage containers (docker's names for the container verbs)",
		Args:  cobra.NoArgs,
	}
	ls := newPsCommand(g)
	ls.Use, ls.Aliases = "ls [-a] [--filter KEY=VALUE] [--format TEMPLATE]", []string{"ps", "list"}
	cmd.AddCommand(newContainerPruneCommand(g), ls,
		newRunCommand(g), newCreateCommand(g), newStartCommand(g), newStopCommand(g), newRestartCommand(g),
		newKillCommand(g), newRmCommand(g), newInspectCommand(g), newLogsCommand(g), newExecCommand(g),
		newAttachCommand(g), newWaitCommand(g), newPortCommand(g), newRenameCommand(g), newPauseCommand(g),
		newUnpauseCommand(g), newTopCommand(g), newStatsCommand(g), newCpCommand(g))
	return cmd
}
