package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/images"
)

func newLoadCommand(g *globalOptions) *cobra.Command {
	var opts images.LoadOptions
	var lf layerLimitFlags
	var quiet bool
	cmd := &cobra.Command{
		Use:   "load -i PATH",
		Short: "Load images from an OCI layout, an OCI archive or a docker-save tar",
		Long: "Load images from an OCI image layout directory, an OCI archive tar or a\n" +
			"`docker save` tar (optionally gzip-compressed); `-i -` reads standard input.\n" +
			"Layers are verified and unpacked while loading. A layer that unpacks to more\n" +
			"than --max-layer-ratio times its size, or a load that would leave less than\n" +
			"--min-free on the disk, is stopped before the image gets a name.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Input == "" {
				return fmt.Errorf("no input: give the image file or directory with -i PATH (or -i - for standard input)")
			}
			var err error
			if opts.MaxLayerRatio, opts.MinFree, err = lf.values(); err != nil {
				return err
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			opts.Stdin = g.Stdin
			store, err := rt.Images()
			if err != nil {
				return err
			}
			loaded, err := store.Load(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if quiet {
				return nil
			}
			for _, l := range loaded {
				if len(l.Names) == 0 {
					fmt.Fprintf(g.Stdout, "Loaded image ID: %s\n", l.Digest)
				}
				for _, n := range l.Names {
					fmt.Fprintf(g.Stdout, "Loaded image: %s\n", familiarName(n))
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Input, "input", "i", "", "image to load: a directory, a tar file, or - for standard input")
	f.StringVar(&opts.Name, "name", "", "tag the loaded image with this name")
	f.StringVar(&opts.Platform, "platform", "", "platform to pick from a multi-arch image (os/arch[/variant]); default: this host")
	f.BoolVarP(&quiet, "quiet", "q", false, "print nothing on success")
	addLayerLimitFlags(f, &lf)
	return cmd
}
