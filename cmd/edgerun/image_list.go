package main

import (
	"fmt"
	"path"
	"strings"
	"text/tabwriter"
	"time"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/images"
)

func newImagesCommand(g *globalOptions) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "images [REPOSITORY[:TAG]]",
		Aliases: []string{"ls"},
		Short:   "List images, or those of a repository (and tag; * and ? match as in file names)",
		Args:    cobra.MaximumNArgs(1),
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
			store, err := rt.Images()
			if err != nil {
				return err
			}
			imgs, err := store.List()
			if err != nil {
				return err
			}
			if len(args) == 1 {
				imgs = filterImages(imgs, args[0])
			}
			switch {
			case lf != nil:
				return writeImageRows(g, lf, imgs)
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
	cmd.Flags().StringVar(&format, "format", "", "output format: table (default), json (a list), or a Go template (see docs/cli.md)")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only short digests")
	return cmd
}

// filterImages keeps the images whose name matches docker's images
// argument REPOSITORY[:TAG], familiar (busybox) or full
// (docker.io/library/busybox), with path.Match's patterns.
func filterImages(imgs []images.Summary, arg string) []images.Summary {
	repo, tag := splitRepoTag(arg)
	var out []images.Summary
	for _, i := range imgs {
		for _, name := range []string{familiarName(i.Name), i.Name} {
			r, t := splitRepoTag(name)
			if ok, _ := path.Match(repo, r); ok {
				if ok, _ := path.Match(tag, t); ok || tag == "" {
					out = append(out, i)
					break
				}
			}
		}
	}
	return out
}

// splitRepoTag splits NAME:TAG at the tag's colon (not a registry port's).
func splitRepoTag(name string) (repo, tag string) {
	if i := strings.IndexByte(name, '@'); i >= 0 {
		return name[:i], "" // NAME@DIGEST has no tag
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		return name[:i], name[i+1:]
	}
	return name, ""
}

// imageColumns are the column names of images' template fields, as docker's.
var imageColumns = map[string]string{
	"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "Digest": "DIGEST", "CreatedSince": "CREATED",
	"CreatedAt": "CREATED AT", "Size": "SIZE", "VirtualSize": "VIRTUAL SIZE", "SharedSize": "SHARED SIZE",
	"UniqueSize": "UNIQUE SIZE", "Containers": "CONTAINERS", "Platform": "PLATFORM",
}

// imageRow is one image as docker's images --format templates see it.
type imageRow struct {
	Repository   string
	Tag          string
	ID           string
	Digest       string
	CreatedSince string
	CreatedAt    string
	Size         string
	VirtualSize  string
	SharedSize   string
	UniqueSize   string
	Containers   string
	Platform     string // edgerun's: os/arch[/variant]
}

func writeImageRows(g *globalOptions, lf *listFormat, imgs []images.Summary) error {
	rows := make([]any, 0, len(imgs))
	for _, i := range imgs {
		r := imageRow{
			Repository: "<none>", Tag: "<none>", ID: shortDigest(i.Digest.Encoded()), Digest: i.Digest.String(),
			CreatedSince: ago(i.Created), Size: humanBytes(i.Size), VirtualSize: humanBytes(i.Size),
			SharedSize: "N/A", UniqueSize: "N/A", Containers: "N/A", Platform: i.Platform,
		}
		if !i.Created.IsZero() {
			r.CreatedAt = i.Created.Local().Format("2006-01-02 15:04:05 -0700 MST")
		}
		if i.Name != "" {
			r.Repository, r.Tag = splitTag(familiarName(i.Name))
		}
		m, err := templateData(r)
		if err != nil {
			return err
		}
		rows = append(rows, m)
	}
	return lf.write(g.Stdout, headerData(imageColumns), rows)
}

// splitTag splits a name into repository and tag (<none> without one).
func splitTag(n string) (string, string) {
	if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") {
		return n[:i], n[i+1:]
	}
	return n, "<none>"
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
