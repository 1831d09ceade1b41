package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/images"
)

// openImages opens the image store of the configured root.
func openImages(g *globalOptions) (*images.Store, error) {
	rt, err := container.Open(g.config())
	if err != nil {
		return nil, err
	}
	return rt.Images()
}

func newImageInspectCommand(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [-f TEMPLATE] IMAGE [IMAGE...]",
		Short: "Show images' configuration as a JSON array (docker's image inspect document), or through a Go template",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return runInspect(g, format, "  ", args, func(rt *container.Runtime, ref string) (any, error) {
				store, err := rt.Images()
				if err != nil {
					return nil, err
				}
				img, err := store.Get(ref)
				if err != nil {
					return nil, err
				}
				return image.InspectDocument(img), nil
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "print each image through a Go template, e.g. '{{.Id}}' (see docs/cli.md)")
	return cmd
}

func newHistoryCommand(g *globalOptions) *cobra.Command {
	var noTrunc, quiet bool
	var format string
	cmd := &cobra.Command{
		Use:   "history IMAGE",
		Short: "Show the steps an image was built with, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if format != "" && format != "json" && format != "table" {
				return fmt.Errorf("unknown --format %q: use table or json", format)
			}
			store, err := openImages(g)
			if err != nil {
				return err
			}
			img, err := store.Get(args[0])
			if err != nil {
				return err
			}
			return printHistory(g, image.History(img), format, quiet, noTrunc)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&noTrunc, "no-trunc", false, "print full IDs and commands")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only image IDs (<missing> for the steps before the image)")
	f.StringVar(&format, "format", "", "output format: table (default) or json (one object per line)")
	return cmd
}

func printHistory(g *globalOptions, rows []image.HistoryEntry, format string, quiet, noTrunc bool) error {
	id := func(r image.HistoryEntry) string {
		switch {
		case r.ID == "":
			return "<missing>"
		case noTrunc:
			return r.ID
		}
		return shortDigest(strings.TrimPrefix(r.ID, "sha256:"))
	}
	switch {
	case quiet:
		for _, r := range rows {
			fmt.Fprintln(g.Stdout, id(r))
		}
		return nil
	case format == "json":
		enc := json.NewEncoder(g.Stdout)
		for _, r := range rows {
			line := map[string]string{"ID": id(r), "CreatedAt": "", "CreatedSince": ago(r.Created),
				"CreatedBy": r.CreatedBy, "Size": units.HumanSizeWithPrecision(float64(r.Size), 3), "Comment": r.Comment}
			if !r.Created.IsZero() {
				line["CreatedAt"] = r.Created.Format("2006-01-02T15:04:05Z07:00")
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(g.Stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintln(w, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
	for _, r := range rows {
		by := strings.Join(strings.Fields(r.CreatedBy), " ")
		if !noTrunc && len([]rune(by)) > 45 {
			by = string([]rune(by)[:44]) + "…"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", id(r), ago(r.Created), by,
			units.HumanSizeWithPrecision(float64(r.Size), 3), r.Comment)
	}
	return w.Flush()
}
