package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/images"
	"github.com/edgerun/edgerun/services"
)

// pruneFlags are the flags the prune commands share.
type pruneFlags struct {
	force   bool
	filters []string
}

func (p *pruneFlags) add(f *pflag.FlagSet, forceHelp string) {
	f.BoolVarP(&p.force, "force", "f", false, forceHelp)
	f.StringArrayVar(&p.filters, "filter", nil, "prune only what matches: until=TIME (created before), label=KEY[=VALUE], label!=KEY[=VALUE] (repeatable)")
}

// filter parses --filter; a bad one fails before anything is asked or
// removed.
func (p *pruneFlags) filter() (container.PruneFilter, error) {
	return container.ParsePruneFilter(p.filters, time.Now())
}

// ask is the question of docker's prune commands: unless -f, a line is
// read from stdin, terminal or not, and only y or yes goes ahead (an end
// of input is a no). A no removes nothing and exits 0, as docker.
func (p *pruneFlags) ask(ctx context.Context, g *globalOptions, warning string) bool {
	if p.force {
		return true
	}
	if confirm(ctx, g, warning+"\nAre you sure you want to continue? [y/N] ") {
		return true
	}
	fmt.Fprintln(g.Stderr, "\nedgerun: nothing removed (answer y, or use -f to skip the question)")
	return false
}

// filterLines is the filters part of a prune's warning, as docker says it.
func (p *pruneFlags) filterLines() string {
	if len(p.filters) == 0 {
		return ""
	}
	return "\n  Items to be pruned will be filtered with:\n  - " + strings.Join(p.filters, "\n  - ")
}

// newPruneCommand is edgerun's own prune, for firmware: it never asks.
func newPruneCommand(g *globalOptions) *cobra.Command {
	var p pruneFlags
	cmd := &cobra.Command{
		Use:   "prune [-f] [--filter until=TIME|label=KEY[=VALUE]]",
		Short: "Remove all stopped containers (never asks; container prune is docker's, which does)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := p.filter()
			if err != nil {
				return err
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			rep, err := services.Prune(cmd.Context(), rt, services.PruneOptions{Filter: f})
			for _, r := range rep.Removed {
				fmt.Fprintln(g.Stdout, r.ID)
			}
			return err
		},
	}
	// docker's prompt-skipping flag: edgerun prune never prompts (firmware runs it).
	p.add(cmd.Flags(), "do not prompt for confirmation (edgerun prune never prompts)")
	return cmd
}

func newContainerPruneCommand(g *globalOptions) *cobra.Command {
	var p pruneFlags
	cmd := &cobra.Command{
		Use:   "prune [-f] [--filter until=TIME|label=KEY[=VALUE]]",
		Short: "Remove all stopped containers, after asking (docker's container prune)",
		Long: "Remove every stopped (and created) container. Unless -f is given it asks first and reads\n" +
			"the answer from standard input, as docker does: without an answer y (an empty input\n" +
			"included) nothing is removed. edgerun prune does the same without asking.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := p.filter()
			if err != nil {
				return err
			}
			if !p.ask(cmd.Context(), g, "WARNING! This will remove all stopped containers."+p.filterLines()) {
				return nil
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			rep, err := services.Prune(cmd.Context(), rt, services.PruneOptions{Filter: f})
			printContainers(g, rep)
			fmt.Fprintf(g.Stdout, "Total reclaimed space: %s\n", humanBytes(rep.Freed))
			return err
		},
	}
	p.add(cmd.Flags(), "do not prompt for confirmation")
	return cmd
}

func newImagePruneCommand(g *globalOptions) *cobra.Command {
	var p pruneFlags
	var all bool
	cmd := &cobra.Command{
		Use:   "prune [-a] [-f] [--filter until=TIME|label=KEY[=VALUE]]",
		Short: "Remove images without a name (-a: every image no container uses) and what no image needs",
		Long: "Remove the images without a name (docker's dangling images), or with -a every image no\n" +
			"container uses, then the blobs and unpacked layers no image or container needs, and stale\n" +
			"partial downloads. On a terminal it asks first unless -f is given; without a terminal\n" +
			"(scripts, firmware) it never asks and goes ahead.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := p.filter()
			if err != nil {
				return err
			}
			warning := "WARNING! This will remove all dangling images."
			if all {
				warning = "WARNING! This will remove all images without at least one container associated to them."
			}
			if isTerminalInput(g.Stdin) && !p.ask(cmd.Context(), g, warning+p.filterLines()) {
				return nil
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			rep, err := rt.PruneImages(cmd.Context(), container.ImagePruneOptions{All: all, Filter: f})
			printImages(g, rep)
			fmt.Fprintf(g.Stdout, "Total reclaimed space: %s\n", humanBytes(rep.Freed))
			return err
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "remove every image no container uses, not only those without a name")
	p.add(cmd.Flags(), "do not prompt for confirmation on a terminal")
	return cmd
}

func newSystemPruneCommand(g *globalOptions) *cobra.Command {
	var p pruneFlags
	var o services.SystemPruneOptions
	cmd := &cobra.Command{
		Use:   "prune [-a] [-f] [--volumes] [--filter until=TIME|label=KEY[=VALUE]]",
		Short: "Remove stopped containers, unused images and, with --volumes, unused volumes",
		Long: "Remove every stopped container, the images without a name (-a: every image no container\n" +
			"uses) with the blobs and unpacked layers nothing needs, and with --volumes every named\n" +
			"volume no container uses. The bridge network stays (network prune removes it). Unless -f\n" +
			"is given it asks first and reads the answer from standard input, as docker does: without\n" +
			"an answer y (an empty input included) nothing is removed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Filter, err = p.filter(); err != nil {
				return err
			}
			if err := o.Check(); err != nil {
				return err
			}
			if !p.ask(cmd.Context(), g, systemPruneWarning(o)+p.filterLines()) {
				return nil
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			rep, err := services.SystemPrune(cmd.Context(), rt, o)
			printContainers(g, rep.Containers)
			printImages(g, rep.Images)
			if len(rep.Volumes.Removed) > 0 {
				fmt.Fprintf(g.Stdout, "Deleted Volumes:\n%s\n\n", strings.Join(rep.Volumes.Removed, "\n"))
			}
			fmt.Fprintf(g.Stdout, "Total reclaimed space: %s\n", humanBytes(rep.Freed()))
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.All, "all", "a", false, "remove every image no container uses, not only those without a name")
	f.BoolVar(&o.Volumes, "volumes", false, "remove the named volumes no container uses too")
	p.add(f, "do not prompt for confirmation")
	return cmd
}

// systemPruneWarning lists what system prune removes, as docker does.
func systemPruneWarning(o services.SystemPruneOptions) string {
	lines := []string{"all stopped containers"}
	if o.Volumes {
		lines = append(lines, "all named volumes not used by at least one container")
	}
	if o.All {
		lines = append(lines, "all images without at least one container associated to them")
	} else {
		lines = append(lines, "all dangling images")
	}
	lines = append(lines, "all blobs and unpacked layers no image or container needs")
	return "WARNING! This will remove:\n  - " + strings.Join(lines, "\n  - ")
}

func printContainers(g *globalOptions, rep services.PruneReport) {
	if len(rep.Removed) == 0 {
		return
	}
	fmt.Fprintln(g.Stdout, "Deleted Containers:")
	for _, r := range rep.Removed {
		fmt.Fprintln(g.Stdout, r.ID)
	}
	fmt.Fprintln(g.Stdout)
}

// printImages prints the images a prune removed as docker does
// (untagged: NAME, deleted: DIGEST), then the blobs and layers it freed.
func printImages(g *globalOptions, rep images.PruneReport) {
	if len(rep.Images) > 0 {
		fmt.Fprintln(g.Stdout, "Deleted Images:")
	}
	for _, line := range rep.Images {
		if n, ok := strings.CutPrefix(line, "Untagged: "); ok {
			line = "untagged: " + familiarName(n)
		} else if d, ok := strings.CutPrefix(line, "Deleted: "); ok {
			line = "deleted: " + d
		}
		fmt.Fprintln(g.Stdout, line)
	}
	for _, d := range rep.Blobs {
		fmt.Fprintf(g.Stdout, "Deleted blob: %s\n", d)
	}
	for _, d := range rep.Layers {
		fmt.Fprintf(g.Stdout, "Deleted layer: %s\n", d)
	}
	if len(rep.Images)+len(rep.Blobs)+len(rep.Layers) > 0 {
		fmt.Fprintln(g.Stdout)
	}
}

// isTerminalInput says whether r is a terminal, where a person can answer.
func isTerminalInput(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// confirm asks a yes/no question on stderr and reads the answer from
// stdin: y or yes, in any case, is a yes; anything else, the end of the
// input, and an interrupt (ctx done) while it waits are a no.
func confirm(ctx context.Context, g *globalOptions, question string) bool {
	fmt.Fprint(g.Stderr, question)
	if g.Stdin == nil {
		return false
	}
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(g.Stdin).ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		a := strings.ToLower(strings.TrimSpace(line))
		return a == "y" || a == "yes"
	case <-ctx.Done():
		return false
	}
}
