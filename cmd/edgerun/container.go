package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/health"
)

func newPsCommand(g *globalOptions) *cobra.Command {
	var all, quiet bool
	var format string
	cmd := &cobra.Command{
		Use:   "ps [-a]",
		Short: "List containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rt, err := openListing(g, format)
			if err != nil {
				return err
			}
			recs, err := rt.Containers(all)
			if err != nil {
				return err
			}
			reportQuarantine(g, rt)
			switch {
			case format == "json":
				if recs == nil {
					recs = []*container.Record{}
				}
				return writeJSON(g, recs)
			case quiet:
				for _, r := range recs {
					fmt.Fprintln(g.Stdout, r.ID[:12])
				}
				return nil
			}
			w := tabwriter.NewWriter(g.Stdout, 0, 8, 3, ' ', 0)
			fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
			for _, r := range recs {
				ports := "" // like docker: a stopped container's ports are not shown
				if r.State == container.StateRunning {
					ports = r.Ports()
				}
				st := status(r)
				// As docker: a paused container's status says Paused, not its health.
				if h := rt.Health(r); h != nil && r.State == container.StateRunning && !r.Paused {
					st += " " + h.Summary()
				}
				fmt.Fprintf(w, "%s\t%s\t%q\t%s\t%s\t%s\t%s\n", r.ID[:12], r.Image, truncate(strings.Join(r.Command, " "), 30),
					ago(r.Created), st, ports, r.Name)
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "show stopped containers too")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only container IDs")
	cmd.Flags().StringVar(&format, "format", "", "output format: table (default) or json")
	return cmd
}

func status(r *container.Record) string {
	switch r.State {
	case container.StateRunning:
		s := "Up " + ago(r.StartedAt)[:len(ago(r.StartedAt))-len(" ago")]
		if r.Paused {
			s += " (Paused)"
		}
		return s
	case container.StateCreated:
		return "Created"
	case container.StateExited:
		s := fmt.Sprintf("Exited (%d) %s", r.ExitCode, ago(r.FinishedAt))
		if r.OOMKilled {
			s += " (OOM killed)"
		}
		switch {
		case r.MonitorLost:
			s += " (monitor lost: edgerun start " + r.Name + ")"
		case r.HostRestarted:
			s += " (host restarted)"
		}
		return s
	case container.StateRestarting:
		s := fmt.Sprintf("Restarting (%d) %s", r.ExitCode, ago(r.FinishedAt))
		if r.Error != "" {
			// The cause, without libcontainer's "unable to start ..." prefix.
			cause := r.Error
			if i := strings.LastIndex(cause, "container init: "); i >= 0 {
				cause = cause[i+len("container init: "):]
			}
			s += " (start failed: " + truncate(cause, 60) + ")"
		}
		return s
	}
	return string(r.State)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func newRmCommand(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm [-f] CONTAINER [CONTAINER...]",
		Short: "Remove containers",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return eachContainer(g, args, func(rt *container.Runtime, ref string) error {
				_, err := rt.RemoveContainer(cmd.Context(), ref, force)
				return err
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill and remove a running container")
	// docker's -v removes anonymous volumes; edgerun has none, and named
	// volumes stay, as in docker.
	cmd.Flags().BoolP("volumes", "v", false, "accepted for docker's scripts: edgerun has no anonymous volumes; named volumes are kept")
	return cmd
}

func newInspectCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect CONTAINER [CONTAINER...]",
		Short: "Show the record and state of containers as JSON",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			recs := []inspected{}
			var errs []error
			for _, ref := range args {
				rec, err := rt.Inspect(ref)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				recs = append(recs, inspected{Record: rec, Health: rt.Health(rec)})
			}
			if err := writeJSON(g, recs); err != nil {
				return err
			}
			return errors.Join(errs...)
		},
	}
}

// inspected is what inspect prints of a container: its record, and its
// health state when it has a health check.
type inspected struct {
	*container.Record
	Health *health.State `json:"health,omitempty"`
}

// reportQuarantine tells the user about container directories moved aside
// because their record was damaged: nothing of them was deleted.
func reportQuarantine(g *globalOptions, rt *container.Runtime) {
	q, _ := rt.Quarantine()
	for _, e := range q {
		fmt.Fprintf(g.Stderr, "edgerun: note: %s is quarantined: %s (its files are kept: look inside, then remove it)\n", e.Path, e.Reason)
	}
}
