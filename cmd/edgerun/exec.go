package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
)

func newExecCommand(g *globalOptions) *cobra.Command {
	var opts container.ExecOptions
	var envFiles []string
	cmd := &cobra.Command{
		Use:   "exec [-d] [-i] [-t] [--privileged] [-e KEY=VALUE] [--env-file FILE] [-u USER] [-w DIR] CONTAINER COMMAND [ARG...]",
		Short: "Run a command in a running container",
		Long: "Run a command in a running container's namespaces and cgroup, with its capabilities\n" +
			"and seccomp profile. edgerun exits with the command's exit code (126 when it cannot be\n" +
			"invoked, 127 when it is not found, 1 when the container is not running).",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			fromFiles, err := readEnvFiles(envFiles)
			if err != nil {
				return err
			}
			opts.Env = append(fromFiles, opts.Env...) // -e wins, as docker's
			opts.Args = args[1:]
			opts.Stdin, opts.Stdout, opts.Stderr = g.Stdin, g.Stdout, g.Stderr
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			code, err := rt.Exec(cmd.Context(), args[0], opts)
			var ee *container.ExitError
			switch {
			case err != nil && !errors.As(err, &ee):
				return err // exit 1, as docker exec
			case err != nil || code != 0:
				return &exitError{code: code, err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // flags after CONTAINER belong to the command
	f.BoolVarP(&opts.Interactive, "interactive", "i", false, "keep standard input open")
	f.BoolVarP(&opts.TTY, "tty", "t", false, "allocate a pseudo-terminal")
	f.StringArrayVarP(&opts.Env, "env", "e", nil, "set an environment variable (KEY=VALUE, or KEY to pass the host's)")
	f.StringArrayVar(&envFiles, "env-file", nil, "read environment variables from a file (as run --env-file)")
	f.StringVarP(&opts.User, "user", "u", "", "user to run as: name or uid[:gid] (looked up in the container)")
	f.StringVarP(&opts.Workdir, "workdir", "w", "", "working directory inside the container")
	f.BoolVarP(&opts.Detach, "detach", "d", false, "start the command in the background and return (its output is dropped)")
	f.BoolVar(&opts.Privileged, "privileged", false, "give the command every capability, whatever the container's")
	return cmd
}
