package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/edgerun/edgerun/container"
)

// exitUnknownCommand is the exit code of an unknown subcommand (docker's:
// "docker: 'bogus' is not a docker command" exits 1).
const exitUnknownCommand = 1

// finishTree gives the whole command tree docker's exit codes, whatever
// commands are added (docs/cli.md, "Exit codes"):
//   - a flag error of any command exits 125 (docker's FlagErrorFunc), with
//     docker's "See 'edgerun CMD --help'." line;
//   - a wrong argument count of run and create exits 125 too: every failure
//     of run before the container starts is edgerun's;
//   - a group command (image, volume, ...) given an unknown subcommand
//     exits 1 with cobra's "Did you mean this?", where cobra would print
//     the group's help and exit 0. No group takes arguments of its own.
//
// The OCI runtime face (edgerun oci) keeps runc's behaviour for flags.
func finishTree(root *cobra.Command) {
	root.SetFlagErrorFunc(flagError)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Parent() == root && c.Name() == "oci" {
			c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
		}
		if c != root && c.HasSubCommands() {
			c.Args = subcommandArgs(c.Args)
			if c.Run == nil && c.RunE == nil {
				c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
			}
		}
		if startsContainer(root, c) && c.Args != nil {
			c.Args = runtimeFailedArgs(c.Args)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// startsContainer reports whether c is run or create (also as container
// run and container create).
func startsContainer(root, c *cobra.Command) bool {
	p := c.Parent()
	return (c.Name() == "run" || c.Name() == "create") &&
		(p == root || (p != nil && p.Parent() == root && p.Name() == "container"))
}

// flagError is a flag error with docker's exit code and hint.
func flagError(cmd *cobra.Command, err error) error {
	if errors.Is(err, pflag.ErrHelp) {
		return err
	}
	return &exitError{code: container.ExitRuntimeFailed, err: &usageError{err: err, path: cmd.CommandPath()}}
}

// usageError is a command-line error with docker's hint on a line of its
// own: "See 'edgerun run --help'."
type usageError struct {
	err  error
	path string
}

func (e *usageError) Error() string { return e.err.Error() + "\nSee '" + e.path + " --help'." }
func (e *usageError) Unwrap() error { return e.err }

// runtimeFailedArgs makes an argument error of check exit 125.
func runtimeFailedArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &exitError{code: container.ExitRuntimeFailed, err: &usageError{err: err, path: cmd.CommandPath()}}
		}
		return nil
	}
}

// subcommandArgs refuses an unknown subcommand of a group command, with
// cobra's suggestions, then applies the group's own check.
func subcommandArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			var b strings.Builder
			fmt.Fprintf(&b, "unknown command %q for %q", args[0], cmd.CommandPath())
			if cmd.SuggestionsMinimumDistance <= 0 {
				cmd.SuggestionsMinimumDistance = 2 // cobra's default, set only on its own path
			}
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				b.WriteString("\n\nDid you mean this?\n")
				for _, n := range s {
					fmt.Fprintf(&b, "\t%s\n", n)
				}
			}
			fmt.Fprintf(&b, "\nRun '%s --help' for usage.", cmd.CommandPath())
			return &exitError{code: exitUnknownCommand, err: errors.New(b.String())}
		}
		if check != nil {
			return check(cmd, args)
		}
		return nil
	}
}

// exitCode prints err (unless it is only an exit status) to stderr and
// returns the process's exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "edgerun: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "edgerun: %v\n", err)
	return 1
}
