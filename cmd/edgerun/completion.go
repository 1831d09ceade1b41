package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/netns"
)

// Dynamic shell completion (edgerun completion bash|zsh|fish): container
// names, image names, network modes and signals. Completion runs as
// `edgerun __complete ARGS...` outside the rootless session (needsSession),
// and only reads: the records and the image index under --root as they
// are on disk (container.PeekContainers, image.PeekNames), so it never
// changes state, takes no lock and stays fast; an error completes nothing
// and says nothing. For an ordinary user --root defaults to
// $XDG_DATA_HOME/edgerun, the root the session uses, which the user owns.

// completionKind is what a command's arguments name.
type completionKind int

const (
	completeNothing completionKind = iota
	completeContainers
	completeFirstContainer // CONTAINER then a command, a path or a name
	completeImages
	completeFirstImage // IMAGE then a command
	completeNetworks
	completeNetworkThenContainer // NETWORK CONTAINER
)

// argCompletions maps command paths (without "edgerun ") to what their
// arguments name; verbs not listed complete nothing of their own. "container
// X" and "image X" forms are covered by their own entries.
var argCompletions = map[string]completionKind{
	"logs": completeFirstContainer, "exec": completeFirstContainer, "stop": completeContainers,
	"start": completeContainers, "restart": completeContainers, "rm": completeContainers,
	"inspect": completeContainers, "wait": completeContainers, "port": completeFirstContainer,
	"kill": completeContainers, "stats": completeContainers, "top": completeFirstContainer,
	"pause": completeContainers, "unpause": completeContainers, "rename": completeFirstContainer,
	"attach": completeFirstContainer, "update": completeFirstContainer, "diff": completeFirstContainer,
	"healthcheck run": completeFirstContainer,
	"run":             completeFirstImage, "create": completeFirstImage, "rmi": completeImages,
	"tag": completeImages, "save": completeImages, "history": completeFirstImage, "push": completeFirstImage,
	"image rm": completeImages, "image tag": completeImages, "image save": completeImages,
	"image inspect": completeImages, "image history": completeFirstImage, "image push": completeFirstImage,
	"network rm": completeNetworks, "network inspect": completeNetworks,
	"network connect": completeNetworkThenContainer, "network disconnect": completeNetworkThenContainer,
}

// addCompletions gives every command in the tree its dynamic completion
// (commands that set their own keep it).
func addCompletions(root *cobra.Command, g *globalOptions) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), root.Name()+" "), "container ")
		if kind, ok := argCompletions[path]; ok && c.ValidArgsFunction == nil && c != root {
			c.ValidArgsFunction = g.completeArgs(kind)
		}
		if c.Flags().Lookup("network") != nil && (c.Name() == "run" || c.Name() == "create") {
			_ = c.RegisterFlagCompletionFunc("network", g.completeNetworkModes)
		}
		for _, name := range []string{"stop-signal", "signal"} {
			if c.Flags().Lookup(name) == nil {
				continue
			}
			if _, ok := c.GetFlagCompletionFunc(name); !ok {
				_ = c.RegisterFlagCompletionFunc(name, completeSignals)
			}
		}
		for _, sub := range c.Commands() {
			if sub.Parent() == root && sub.Name() == "oci" {
				continue // runc's command line, for engines
			}
			walk(sub)
		}
	}
	walk(root)
}

func (g *globalOptions) completeArgs(kind completionKind) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch {
		case kind == completeContainers, kind == completeFirstContainer && len(args) == 0:
			return g.containerNames(toComplete, ""), cobra.ShellCompDirectiveNoFileComp
		case kind == completeImages, kind == completeFirstImage && len(args) == 0:
			return g.imageNames(toComplete), cobra.ShellCompDirectiveNoFileComp
		case kind == completeNetworks, kind == completeNetworkThenContainer && len(args) == 0:
			return g.networkNames(toComplete, nil), cobra.ShellCompDirectiveNoFileComp
		case kind == completeNetworkThenContainer && len(args) == 1:
			return g.containerNames(toComplete, ""), cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveDefault // a command, a path: the shell's own
	}
}

// containerNames are the names of the containers under --root that start
// with prefix (after the prefix strip), each with its state as the
// description.
func (g *globalOptions) containerNames(toComplete, strip string) []cobra.Completion {
	recs, err := container.PeekContainers(g.Root)
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for _, rec := range recs {
		if strings.HasPrefix(rec.Name, toComplete) {
			out = append(out, cobra.CompletionWithDesc(strip+rec.Name, string(rec.State)))
		}
	}
	slices.Sort(out)
	return out
}

// imageNames are the familiar names (busybox:latest) of the images under
// --root that start with toComplete.
func (g *globalOptions) imageNames(toComplete string) []cobra.Completion {
	names, err := image.PeekNames(g.Root)
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for _, n := range names {
		if f := familiarName(n); strings.HasPrefix(f, toComplete) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// completeNetworkModes completes --network: bridge, host, none,
// container:NAME and the user-defined networks.
func (g *globalOptions) completeNetworkModes(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if rest, ok := strings.CutPrefix(toComplete, "container:"); ok {
		return g.containerNames(rest, "container:"), cobra.ShellCompDirectiveNoFileComp
	}
	out := g.networkNames(toComplete, []string{container.NetworkBridge, "host", "none", "container:"})
	dir := cobra.ShellCompDirectiveNoFileComp
	if len(out) == 1 && out[0] == "container:" {
		dir |= cobra.ShellCompDirectiveNoSpace
	}
	return out, dir
}

// networkNames are the given names and the user-defined networks under
// --root (read only) that start with toComplete.
func (g *globalOptions) networkNames(toComplete string, names []string) []cobra.Completion {
	if defs, err := netns.OpenStore(netns.Config{Root: g.Root}).List(); err == nil {
		for _, d := range defs {
			names = append(names, d.Name)
		}
	}
	var out []cobra.Completion
	for _, n := range names {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out
}

// completeSignals completes a signal flag with the names kill and
// --stop-signal take (KILL, TERM, ...: specgen.ParseSignal).
func completeSignals(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	prefix := strings.ToUpper(toComplete)
	for s := unix.Signal(1); s < 32; s++ {
		n := strings.TrimPrefix(unix.SignalName(s), "SIG")
		if n == "" {
			continue
		}
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		} else if strings.HasPrefix("SIG"+n, prefix) {
			out = append(out, "SIG"+n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
