package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
)

func newVolumeCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "volume",
		Short: "Manage named volumes",
		Long: "Manage named volumes: directories under the persistent root (<root>/volumes/NAME/_data)\n" +
			"that containers mount with -v NAME:/path and that outlive the containers. run creates a\n" +
			"missing volume on first use and copies the image's content at the mount point into it.",
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newVolumeCreateCommand(g), newVolumeLsCommand(g), newVolumeInspectCommand(g),
		newVolumeRmCommand(g), newVolumePruneCommand(g))
	return cmd
}

func newVolumeCreateCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "create NAME",
		Short: "Create a named volume (an existing one is left as it is)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			v, err := rt.CreateVolume(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, v.Name)
			return nil
		},
	}
}

func newVolumeLsCommand(g *globalOptions) *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List named volumes",
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			rt, err := openListing(g, format)
			if err != nil {
				return err
			}
			vs, err := rt.Volumes()
			if err != nil {
				return err
			}
			switch {
			case format == "json":
				return writeJSON(g, vs)
			case quiet:
				for _, v := range vs {
					fmt.Fprintln(g.Stdout, v.Name)
				}
				return nil
			}
			w := tabwriter.NewWriter(g.Stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, "NAME\tCREATED\tCONTAINERS")
			for _, v := range vs {
				fmt.Fprintf(w, "%s\t%s\t%d\n", v.Name, ago(v.CreatedAt), len(v.Containers))
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "output format: table (default) or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only volume names")
	return cmd
}

func newVolumeInspectCommand(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [-f TEMPLATE] NAME [NAME...]",
		Short: "Show named volumes as JSON (name, directory, creation time, the containers using them), or through a Go template",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return runInspect(g, format, "  ", args, func(rt *container.Runtime, name string) (any, error) {
				return rt.InspectVolume(name)
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "print each volume through a Go template, e.g. '{{.Mountpoint}}' (see docs/cli.md)")
	return cmd
}

func newVolumeRmCommand(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [-f] NAME [NAME...]",
		Aliases: []string{"remove"},
		Short:   "Remove named volumes and their data (refused while a container uses them)",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			var errs []error
			for _, name := range args {
				if err := rt.RemoveVolume(cmd.Context(), name, force); err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(g.Stdout, name)
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "no error for a volume that does not exist (a volume in use is still refused)")
	return cmd
}

func newVolumePruneCommand(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "prune [-f]",
		Short: "Remove every named volume no container uses, with its data",
		Long: "Remove every named volume that no container (running or stopped) uses, with its data.\n" +
			"On a terminal it asks first unless -f is given; without a terminal (scripts, firmware)\n" +
			"it never asks and goes ahead, like edgerun's other prune commands.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !force && isTerminalInput(g.Stdin) && !confirm(cmd.Context(), g, "This removes every volume no container uses, with its data. Continue? [y/N] ") {
				return nil
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			rep, err := rt.PruneVolumes(cmd.Context())
			for _, name := range rep.Removed {
				fmt.Fprintf(g.Stdout, "Deleted volume: %s\n", name)
			}
			fmt.Fprintf(g.Stdout, "Total reclaimed space: %s\n", humanBytes(rep.Freed))
			return err
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "do not ask on a terminal")
	return cmd
}
