package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/images"
)

func newImagesCommand(g *globalOptions) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "images",
		Aliases: []string{"ls"},
		Short:   "List images",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rt, err := openListing(g, format)
			if err != nil {
				return err
			}
			store, err := rt.Images()
			if err != nil {
				return err
			}
			imgs, err := store.List()
			if err != nil {
				return err
			}
			switch {
			case format == "json":
				if imgs == nil {
					imgs = []images.Summary{}
				}
				return writeJSON(g, imgs)
			case quiet:
				for _, i := range imgs {
					fmt.Fprintln(g.Stdout, shortDigest(i.Digest.Encoded()))
				}
				return nil
			}
			w := tabwriter.NewWriter(g.Stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tDIGEST\tPLATFORM\tCREATED\tSIZE")
			for _, i := range imgs {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", familiarName(i.Name), shortDigest(i.Digest.Encoded()),
					i.Platform, ago(i.Created), units.HumanSizeWithPrecision(float64(i.Size), 3))
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "output format: table (default) or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only short digests")
	return cmd
}

// familiarName shortens docker.io names the way docker prints them.
func familiarName(n string) string {
	n = strings.TrimPrefix(n, "index.docker.io/")
	n = strings.TrimPrefix(n, "docker.io/")
	return strings.TrimPrefix(n, "library/")
}

func shortDigest(hex string) string {
	if len(hex) > 12 {
		return hex[:12]
	}
	return hex
}

func ago(t time.Time) string {
	if t.IsZero() || t.Unix() <= 0 {
		return "-"
	}
	return units.HumanDuration(time.Since(t)) + " ago"
}
