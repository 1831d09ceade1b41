package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/image"
)

func newLoginCommand(g *globalOptions) *cobra.Command {
	var user, password string
	var passwordStdin bool
	var reg image.RegistryConfig
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Log in to a registry (default: Docker Hub)",
		Long: "Check a user name and password against a registry and store them in\n" +
			"~/.docker/config.json ($DOCKER_CONFIG), or in the credential helper it names,\n" +
			"where docker, podman and skopeo find them too.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			if passwordStdin {
				if password != "" {
					return fmt.Errorf("--password and --password-stdin are exclusive: use --password-stdin")
				}
				b, err := io.ReadAll(io.LimitReader(g.Stdin, 64<<10))
				if err != nil {
					return fmt.Errorf("read the password from standard input: %w", err)
				}
				password = strings.TrimRight(string(b), "\r\n")
			} else if password != "" {
				fmt.Fprintln(g.Stderr, "edgerun: warning: --password is visible in the process list: use --password-stdin")
			}
			key, err := image.Login(cmd.Context(), reg, image.DefaultConfigDir(), server, user, password)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.Stdout, "Login Succeeded (%s)\n", key)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&user, "username", "u", "", "user name")
	f.StringVarP(&password, "password", "p", "", "password or token (prefer --password-stdin)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password or token from standard input")
	f.StringArrayVar(&reg.Insecure, "insecure-registry", nil, "registry (host:port) to reach over plain HTTP")
	f.StringVar(&reg.CAFile, "tls-ca", "", "PEM file of CA certificates trusted beside the system roots")
	return cmd
}

func newLogoutCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Remove the stored credentials of a registry (default: Docker Hub)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			server := ""
			if len(args) == 1 {
				server = args[0]
			}
			key, err := image.Logout(image.DefaultConfigDir(), server)
			if errors.Is(err, image.ErrNotLoggedIn) {
				// As docker: nothing to remove is not a failure.
				fmt.Fprintf(g.Stdout, "Not logged in to %s\n", key)
				return nil
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.Stdout, "Removing login credentials for %s\n", key)
			return nil
		},
	}
}
