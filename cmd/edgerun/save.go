package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/internal/atomicfile"
)

func newSaveCommand(g *globalOptions) *cobra.Command {
	var output, format string
	cmd := &cobra.Command{
		Use:   "save [-o FILE] [--format docker-archive|oci-archive] IMAGE [IMAGE...]",
		Short: "Write images to a tar archive (docker save), standard output by default",
		Long: "Write images to a tar archive: docker-archive (the default; docker save's format,\n" +
			"read by docker load, podman load and edgerun load) or oci-archive (an OCI image\n" +
			"layout in a tar, read by podman load and skopeo). An image given by name is saved\n" +
			"under that name; one given by ID or digest is saved without a name. Loading the\n" +
			"archive gives the same image digests. -o writes the file atomically.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if format != image.FormatDockerArchive && format != image.FormatOCIArchive {
				return fmt.Errorf("unknown --format %q: use %s or %s", format, image.FormatDockerArchive, image.FormatOCIArchive)
			}
			if output == "" && isTerminalOutput(g.Stdout) {
				return fmt.Errorf("refusing to write an archive to a terminal: use -o FILE or redirect standard output")
			}
			store, err := openImages(g)
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				return store.Save(g.Stdout, args, format)
			}
			return atomicfile.Write(output, 0o644, func(w io.Writer) error { return store.Save(w, args, format) })
		},
	}
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	f.StringVar(&format, "format", image.FormatDockerArchive, "archive format: docker-archive or oci-archive")
	return cmd
}

// isTerminalOutput says whether w is a terminal.
func isTerminalOutput(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminalInput(f)
}
