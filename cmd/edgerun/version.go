package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/internal/gotmpl"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// versionInfo is version's document for --format, shaped as docker's:
// edgerun has no server, so Server is the same binary as Client.
type versionInfo struct {
	Client versionPart
	Server versionPart
}

type versionPart struct {
	Version   string
	GoVersion string
	Os        string
	Arch      string
}

func newVersionCommand(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the edgerun version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if format != "" {
				return versionTemplate(g, format)
			}
			fmt.Fprintf(g.Stdout, "edgerun %s\n", version)
			if bi, ok := debug.ReadBuildInfo(); ok {
				fmt.Fprintf(g.Stdout, "go: %s\n", bi.GoVersion)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "print through a Go template, e.g. '{{.Client.Version}}', or json")
	return cmd
}

func versionTemplate(g *globalOptions, format string) error {
	if format == "json" {
		format = "{{json .}}"
	}
	t, err := gotmpl.Parse(format)
	if err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	p := versionPart{Version: version, Os: runtime.GOOS, Arch: runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		p.GoVersion = bi.GoVersion
	}
	data, err := templateData(versionInfo{Client: p, Server: p})
	if err != nil {
		return err
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return err
	}
	fmt.Fprintln(g.Stdout, b.String())
	return nil
}

func humanBytes(n int64) string { return units.HumanSizeWithPrecision(float64(n), 3) }
