package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/netns"
)

func newNetworkCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage networks: user-defined bridge networks and the default bridge",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newNetworkCreateCommand(g), newNetworkLsCommand(g), newNetworkInspectCommand(g),
		newNetworkRmCommand(g), newNetworkPruneCommand(g), newNetworkConnectCommand(g), newNetworkDisconnectCommand(g))
	return cmd
}

func newNetworkCreateCommand(g *globalOptions) *cobra.Command {
	var o netns.CreateOptions
	var opts, labels, subnets, gateways []string
	var driver string
	cmd := &cobra.Command{
		Use:   "create [--subnet CIDR] [--gateway IP] [--ipv6 [--subnet CIDR6] [--gateway IP6]] [--internal] [-o KEY=VALUE] [--label KEY=VALUE] NAME",
		Short: "Create a bridge network; prints its ID",
		Long: "Create a user-defined bridge network: its own bridge, subnet and nftables table. Containers\n" +
			"on it (run --network NAME, network connect) reach each other by name and alias; containers on\n" +
			"different networks cannot reach each other. Without --subnet a free /24 of 10.91.0.0-10.99.255.0\n" +
			"is picked. Here --subnet is the new network's, not the default bridge's.\n" +
			"--ipv6 makes it dual-stack: give an IPv6 --subnet (and --gateway) beside the IPv4 ones, or a unique\n" +
			"local /64 (fdXX:XXXX:XXXX::/64, from the network's ID) is taken. IPv6 leaves through NAT66.\n" +
			"Options (-o): bridge=NAME (com.docker.network.bridge.name), mtu=N (com.docker.network.driver.mtu).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if driver != "bridge" {
				return fmt.Errorf("--driver %s: edgerun has the bridge driver only", driver)
			}
			o.Name = args[0]
			o.Subnet, o.Subnet6 = netns.SplitByFamily(subnets)
			o.Gateway, o.Gateway6 = netns.SplitByFamily(gateways)
			var err error
			if o.Options, err = netns.ParseKeyValues("-o", opts); err != nil {
				return err
			}
			if o.Labels, err = netns.ParseKeyValues("--label", labels); err != nil {
				return err
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			d, err := rt.CreateNetwork(cmd.Context(), o)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.Stdout, d.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&subnets, "subnet", nil, "the network's subnet, e.g. 10.91.5.0/24 (default: a free /24 of 10.91.0.0/16-10.99.0.0/16); with --ipv6 give it again for IPv6, e.g. fd00:1:2:3::/64 (default: a unique local /64)")
	f.StringArrayVar(&gateways, "gateway", nil, "the bridge's address (default: the subnet's first); one per family")
	f.BoolVar(&o.Internal, "internal", false, "no way out: no outbound NAT, no default route, nothing forwarded to or from other interfaces")
	f.BoolVar(&o.IPv6, "ipv6", false, "dual-stack: IPv6 addresses beside the IPv4 ones, NAT66 outbound, ports published on IPv6 too")
	f.StringArrayVarP(&opts, "opt", "o", nil, "driver option: bridge=NAME or mtu=N (docker's com.docker.network.bridge.name, com.docker.network.driver.mtu)")
	f.StringArrayVar(&labels, "label", nil, "set a label: KEY=VALUE")
	f.StringVarP(&driver, "driver", "d", "bridge", "network driver: bridge")
	return cmd
}

// networkTable is network ls's default table, docker's columns.
const networkTable = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

func newNetworkLsCommand(g *globalOptions) *cobra.Command {
	var format string
	var quiet, noTrunc bool
	var filters []string
	cmd := &cobra.Command{
		Use:     "ls",
		Aliases: []string{"list"},
		Short:   "List networks: bridge, host, none and the user-defined ones",
		Args:    cobra.NoArgs,
		RunE: func(_ *cobra.Command, _ []string) error {
			lf, err := parseListFormat(format, networkTable)
			if err != nil {
				return err
			}
			match, err := container.ParseNetworkFilters(filters)
			if err != nil {
				return err
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			docs, err := rt.Networks()
			if err != nil {
				return err
			}
			var rows []any
			for _, d := range docs {
				if !match(d) {
					continue
				}
				row := networkRow(d, noTrunc)
				if quiet {
					fmt.Fprintln(g.Stdout, row["ID"])
					continue
				}
				rows = append(rows, row)
			}
			if quiet {
				return nil
			}
			return lf.write(g.Stdout, headerData(map[string]string{"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER",
				"Scope": "SCOPE", "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}), rows)
		},
	}
	f := cmd.Flags()
	f.StringVar(&format, "format", "", "output format: table (default), json (one object per line), or a Go template (see docs/cli.md)")
	f.BoolVarP(&quiet, "quiet", "q", false, "print only network IDs")
	f.BoolVar(&noTrunc, "no-trunc", false, "do not shorten IDs")
	f.StringArrayVarP(&filters, "filter", "f", nil, "show only networks that match KEY=VALUE: name, id, driver, label, type (custom or builtin)")
	return cmd
}

// networkRow is a network as ls's templates see it: docker's fields.
func networkRow(d *container.NetworkDoc, noTrunc bool) map[string]any {
	id := d.ID
	if !noTrunc {
		id = id[:12]
	}
	labels := make([]string, 0, len(d.Labels))
	for k, v := range d.Labels {
		labels = append(labels, k+"="+v)
	}
	created := ""
	if !d.Created.IsZero() {
		created = d.Created.Format("2006-01-02 15:04:05 -0700 MST")
	}
	return map[string]any{"ID": id, "Name": d.Name, "Driver": d.Driver, "Scope": d.Scope,
		"IPv6": fmt.Sprint(d.EnableIPv6), "Internal": fmt.Sprint(d.Internal), "Labels": strings.Join(slices.Sorted(slices.Values(labels)), ","),
		"CreatedAt": created}
}

func newNetworkInspectCommand(g *globalOptions) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "inspect [-f TEMPLATE] NETWORK [NETWORK...]",
		Short: "Show networks as docker's network inspect document (JSON), or through a Go template",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			return runInspect(g, format, "    ", args, func(rt *container.Runtime, ref string) (any, error) {
				return rt.InspectNetwork(ref)
			})
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "print each network through a Go template, e.g. '{{range .IPAM.Config}}{{.Subnet}}{{end}}'")
	return cmd
}

func newNetworkRmCommand(g *globalOptions) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [-f] NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove networks (refused while a container, running or stopped, is on them)",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			var errs []error
			for _, ref := range args {
				name, err := rt.RemoveNetwork(cmd.Context(), ref)
				if force && errors.Is(err, netns.ErrNoSuchNetwork) {
					continue
				}
				if err != nil {
					errs = append(errs, err)
					continue
				}
				fmt.Fprintln(g.Stdout, name)
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "no error for a network that does not exist")
	return cmd
}

func newNetworkPruneCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prune [-f]",
		Short: "Remove every user-defined network no container is on, and the default bridge's device when unused",
		Long: "Remove every user-defined network that no container (running or stopped) is on, and the\n" +
			"bridge named by --bridge with its nftables table and lease directory when no container is on\n" +
			"it (the next `run --network bridge` makes them again). Networks in use are left as they are.\n" +
			"A bridge of that name that is not this root's (another program's, another edgerun root's) is\n" +
			"refused, touching nothing. Prints what it removed. It never asks (-f is accepted for docker's\n" +
			"scripts).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			removed, err := rt.PruneNetworks(cmd.Context())
			for _, name := range removed {
				fmt.Fprintln(g.Stdout, name)
			}
			return err
		},
	}
	cmd.Flags().BoolP("force", "f", false, "accepted for docker's scripts: prune never asks")
	return cmd
}

func newNetworkConnectCommand(g *globalOptions) *cobra.Command {
	var o container.ConnectOptions
	cmd := &cobra.Command{
		Use:   "connect [--ip IP] [--ip6 IP6] [--alias NAME] NETWORK CONTAINER",
		Short: "Connect a container, running or not, to one more network (its next interface, eth1, eth2, ...)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			return rt.ConnectNetwork(cmd.Context(), args[0], args[1], o)
		},
	}
	cmd.Flags().StringVar(&o.IP, "ip", "", "the container's address on the network")
	cmd.Flags().StringVar(&o.IP6, "ip6", "", "the container's IPv6 address on the network (one created with --ipv6)")
	cmd.Flags().StringArrayVar(&o.Aliases, "alias", nil, "another name of the container on the network")
	return cmd
}

func newNetworkDisconnectCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "disconnect [-f] NETWORK CONTAINER",
		Short: "Disconnect a container from one of its networks",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			return rt.DisconnectNetwork(cmd.Context(), args[0], args[1])
		},
	}
	cmd.Flags().BoolP("force", "f", false, "also from a network that no longer exists (always so in edgerun)")
	return cmd
}
