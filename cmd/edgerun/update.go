package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/images"
)

func newUpdateCommand(g *globalOptions) *cobra.Command {
	var opts container.UpdateOptions
	var rf registryFlags
	var format string
	cmd := &cobra.Command{
		Use:   "update --image IMAGE CONTAINER",
		Short: "Replace a detached container by one of a new image, rolling back if it fails",
		Long: "Replace a detached container by one of a new image, with the same options.\n" +
			"The image is pulled first while the container serves on. The replacement starts\n" +
			"beside it (as NAME.next) and must become healthy (without a health check: run for\n" +
			"--update-wait); then the published ports move to it in one step, the old container\n" +
			"stops and is removed, and the replacement takes the name. If the replacement\n" +
			"fails, it is removed and the old container serves on (exit code 1). An update\n" +
			"killed midway is finished or rolled back by the next update or by edgerun boot.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "" && format != "json" {
				return &exitError{code: container.ExitRuntimeFailed, err: fmt.Errorf("unknown --format %q: use json", format)}
			}
			if err := rf.apply(&opts.PullWith); err != nil {
				return &exitError{code: container.ExitRuntimeFailed, err: err}
			}
			opts.Notice = func(msg string) { fmt.Fprintf(g.Stderr, "edgerun: note: %s\n", msg) }
			rt, err := container.Open(g.config())
			if err != nil {
				return &exitError{code: container.ExitRuntimeFailed, err: err}
			}
			pr, _ := newPullProgress(g.Stderr, "", false)
			opts.PullWith.Events = pr.event
			res, err := rt.Update(cmd.Context(), args[0], opts)
			pr.finish(nil)
			if res == nil && errors.Is(err, container.ErrUpdateFailed) {
				res = &container.UpdateResult{Name: args[0], Outcome: container.UpdateRolledBack, Reason: err.Error()}
			}
			if res != nil {
				printUpdate(g, res, format)
			}
			switch {
			case errors.Is(err, container.ErrUpdateFailed):
				return &exitError{code: 1, err: err}
			case err != nil:
				return &exitError{code: exitCodeOf(err), err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Image, "image", "", "the image to update to (required)")
	f.StringVar(&opts.Pull, "pull", images.PullMissing, "pull the image first: missing, always or never")
	f.DurationVar(&opts.Wait, "update-wait", container.DefaultUpdateWait, "without a health check: how long the replacement must run")
	f.DurationVar(&opts.Timeout, "update-timeout", container.DefaultUpdateTimeout, "with a health check: how long the replacement may take to be healthy")
	f.BoolVar(&opts.Force, "force", false, "replace the container even when the image is the same")
	f.StringVar(&format, "format", "", "print the outcome as json")
	addRegistryFlags(f, &opts.PullWith, &rf)
	_ = cmd.MarkFlagRequired("image")
	return cmd
}

func printUpdate(g *globalOptions, res *container.UpdateResult, format string) {
	if format == "json" {
		_ = writeJSON(g, res)
		return
	}
	switch res.Outcome {
	case container.UpdateUnchanged:
		fmt.Fprintf(g.Stdout, "%s: already runs that image (use --force to replace it anyway)\n", res.Name)
	case container.UpdateDone:
		fmt.Fprintf(g.Stdout, "%s: updated (container %.12s)\n", res.Name, res.New)
	}
}
