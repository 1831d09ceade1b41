package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
)

type checkOptions struct {
	container.CheckOptions
	Format string
}

func newCheckCommand(g *globalOptions) *cobra.Command {
	o := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [--repair] [--quick] [--format table|json]",
		Short: "Check the image store and the container state for damage and leftovers",
		Long: "check is an fsck for --root and --state: blobs against their digests, unpacked layers\n" +
			"against their complete markers, container records against their directories, name claims,\n" +
			"address and port leases, and cgroups, mounts, veths and nftables rules that belong to no\n" +
			"container of this root, plus leftovers of interrupted loads, pulls and unpacks, and\n" +
			"interrupted updates (finished or rolled back by --repair, as by edgerun boot).\n" +
			"Without --repair it only reads: exit status 0 when nothing is wrong, 1 otherwise.\n" +
			"With --repair it removes leftovers and orphans, reclaims stale leases and claims, and\n" +
			"moves damaged things to <root>/quarantine (nothing is deleted): exit status 0 when\n" +
			"everything found was repaired.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Format != "table" && o.Format != "json" {
				return fmt.Errorf("unknown --format %q: use table or json", o.Format)
			}
			found, err := container.Check(cmd.Context(), g.config(), o.CheckOptions)
			if err != nil {
				return err
			}
			if o.Format == "json" {
				if found == nil {
					found = []container.Finding{}
				}
				err = writeJSON(g, found)
			} else {
				err = writeFindings(g.Stdout, found, o.Repair)
			}
			if err != nil {
				return err
			}
			if !container.Handled(found) {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&o.Repair, "repair", false, "fix what is found: remove leftovers, quarantine what is damaged")
	cmd.Flags().BoolVar(&o.Quick, "quick", false, "do not re-hash the blobs (what edgerun boot checks)")
	cmd.Flags().StringVar(&o.Format, "format", "table", "output format: table or json")
	return cmd
}

// writeFindings prints check's findings as a table and a summary line.
func writeFindings(out io.Writer, found []container.Finding, repair bool) error {
	if len(found) == 0 {
		_, err := fmt.Fprintln(out, "nothing to repair")
		return err
	}
	w := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
	head := "KIND\tWHERE\tPROBLEM\tREPAIR"
	if repair {
		head += "\tRESULT"
	}
	fmt.Fprintln(w, head)
	repaired := 0
	for _, f := range found {
		line := f.Kind + "\t" + f.Where + "\t" + f.Problem + "\t" + f.Repair
		if repair {
			line += "\t" + findingResult(f)
		}
		if f.Repaired {
			repaired++
		}
		fmt.Fprintln(w, line)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	var err error
	switch {
	case !repair:
		_, err = fmt.Fprintf(out, "%d problems found: edgerun check --repair fixes them\n", len(found))
	default:
		_, err = fmt.Fprintf(out, "%d problems found, %d repaired\n", len(found), repaired)
	}
	return err
}
