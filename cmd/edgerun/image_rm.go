package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
)

func newRmiCommand(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rmi [-f] IMAGE [IMAGE...]",
		Short: "Remove images by name, digest or ID prefix",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			var errs []error
			for _, ref := range args {
				removed, err := rt.RemoveImage(ref, force)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				for _, line := range removed {
					if n, ok := strings.CutPrefix(line, "Untagged: "); ok {
						line = "Untagged: " + familiarName(n)
					}
					fmt.Fprintln(g.Stdout, line)
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove even if a container uses the image")
	return cmd
}

func newImageCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Args:  cobra.NoArgs,
	}
	rm := newRmiCommand(g)
	rm.Use = "rm [-f] IMAGE [IMAGE...]"
	ls := newImagesCommand(g)
	ls.Use, ls.Aliases = "ls", []string{"list"}
	load := newLoadCommand(g)
	cmd.AddCommand(ls, rm, load, newTagCommand(g), newImagePruneCommand(g))
	cmd.AddCommand(newImageInspectCommand(g), newHistoryCommand(g), newSaveCommand(g))
	return cmd
}

func newTagCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE TARGET_IMAGE[:TAG]",
		Short: "Give a stored image (name, digest or ID prefix) another name",
		Long: "Give a stored image (name, digest or ID prefix) another name; the name is taken\n" +
			"from any image that had it. An image index rebuilt from the blobs names the\n" +
			"images whose names were lost by their IDs: name them again with this.",
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			store, err := rt.Images()
			if err != nil {
				return err
			}
			_, err = store.Tag(args[0], args[1])
			return err
		},
	}
}
