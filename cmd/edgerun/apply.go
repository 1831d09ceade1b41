package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/images"
	"github.com/edgerun/edgerun/services"
)

func newApplyCommand(g *globalOptions) *cobra.Command {
	var opts services.ApplyOptions
	var rf registryFlags
	var format string
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Make the containers of a service file (a subset of Compose) what it says",
		Long: "Reconcile the containers of a service file with it, once, and exit: create what is\n" +
			"missing, update what changed (with update's rollback, in depends_on order), start\n" +
			"what stopped, leave the rest alone. Services no longer in the file are removed only\n" +
			"with --remove-orphans. The file is checked whole before anything changes. edgerun\n" +
			"boot brings the applied set back after a reboot, in depends_on order. Exit code 1\n" +
			"when a service could not be created, updated or started (the others are done).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "" && format != "json" {
				return &exitError{code: container.ExitRuntimeFailed, err: fmt.Errorf("unknown --format %q: use json", format)}
			}
			if err := rf.apply(&opts.PullWith); err != nil {
				return &exitError{code: container.ExitRuntimeFailed, err: err}
			}
			opts.Lookup = os.LookupEnv
			if format == "" {
				opts.Progress = func(a services.Action) { printAction(g, a) }
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return &exitError{code: container.ExitRuntimeFailed, err: err}
			}
			plan, err := services.Apply(cmd.Context(), rt, opts)
			if plan != nil {
				for _, w := range plan.Warnings {
					fmt.Fprintf(g.Stderr, "edgerun: warning: %s\n", w)
				}
				printPlan(g, plan, format, opts.DryRun)
			}
			switch {
			case errors.Is(err, services.ErrApplyFailed):
				return &exitError{code: 1, err: err}
			case err != nil:
				return &exitError{code: container.ExitRuntimeFailed, err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.File, "file", "f", "", "the service file (required)")
	f.StringVarP(&opts.Project, "project-name", "p", "", "name of the set (default: the file's name:, else its directory's)")
	f.BoolVar(&opts.DryRun, "dry-run", false, "print the plan and change nothing")
	f.BoolVar(&opts.RemoveOrphans, "remove-orphans", false, "remove the containers of services no longer in the file")
	f.StringVar(&opts.Pull, "pull", images.PullMissing, "pull images: missing, always or never")
	f.DurationVar(&opts.UpdateWait, "update-wait", container.DefaultUpdateWait, "without a health check: how long a changed service's replacement must run")
	f.DurationVar(&opts.UpdateTimeout, "update-timeout", container.DefaultUpdateTimeout, "how long a replacement or a dependency may take to be healthy")
	f.StringVar(&format, "format", "", "print the plan (and results) as json")
	addRegistryFlags(f, &opts.PullWith, &rf)
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// printAction says what apply starts doing and what came of it.
func printAction(g *globalOptions, a services.Action) {
	if a.Result == "" {
		fmt.Fprintf(g.Stdout, "%s: %s %s", a.Service, a.Action, a.Image)
		if a.Reason != "" {
			fmt.Fprintf(g.Stdout, " (%s)", a.Reason)
		}
		fmt.Fprintln(g.Stdout)
		return
	}
	fmt.Fprintf(g.Stdout, "%s: %s\n", a.Service, a.Result)
}

func printPlan(g *globalOptions, p *services.Plan, format string, dry bool) {
	if format == "json" {
		_ = writeJSON(g, p)
		return
	}
	if dry {
		for _, a := range p.Actions {
			printAction(g, services.Action{Service: a.Service, Action: a.Action, Image: a.Image, Reason: a.Reason})
		}
	}
	for _, a := range p.Actions {
		if a.Action == services.ActOrphan && !dry {
			fmt.Fprintf(g.Stdout, "%s: %s\n", a.Service, a.Reason)
		}
	}
	if !p.Changes() {
		if n := countServices(p); n == 1 {
			fmt.Fprintf(g.Stdout, "nothing to do: the service of %s is as the file says\n", p.Project)
		} else {
			fmt.Fprintf(g.Stdout, "nothing to do: the %d services of %s are as the file says\n", n, p.Project)
		}
	}
}

func countServices(p *services.Plan) int {
	n := 0
	for _, a := range p.Actions {
		if a.Action != services.ActOrphan && a.Action != services.ActRemove {
			n++
		}
	}
	return n
}
