package main

import (
	"encoding/json"
	"fmt"

	"github.com/edgerun/edgerun/container"
)

// openListing is the opening of volume ls: it
// refuses an unknown --format before touching anything, then opens the
// runtime.
func openListing(g *globalOptions, format string) (*container.Runtime, error) {
	if format != "" && format != "table" && format != "json" {
		return nil, fmt.Errorf("unknown --format %q: use table or json", format)
	}
	return container.Open(g.config())
}

// writeJSON prints v as indented JSON, the --format json of every command.
func writeJSON(g *globalOptions, v any) error {
	enc := json.NewEncoder(g.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// findingResult says what a repair did with a finding.
func findingResult(f container.Finding) string {
	switch {
	case f.Repaired:
		return "repaired"
	case f.Error != "":
		return "failed: " + f.Error
	}
	return "not repaired"
}

// reportFindings prints what boot's check found, one line each, on stderr.
func reportFindings(g *globalOptions) func(container.Finding) {
	return func(f container.Finding) {
		fmt.Fprintf(g.Stderr, "edgerun: check: %s %s: %s: %s (%s)\n", f.Kind, f.Where, f.Problem, findingResult(f), f.Repair)
	}
}
