package container

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/netns"
	"github.com/edgerun/edgerun/rootless"
	"github.com/edgerun/edgerun/specgen"
)

// writeEtcFiles writes the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf into its directory and bind-mounts them into the spec:
// for the network it is attached to, with --dns, --add-host and the like
// from opts.
func (r *Runtime) writeEtcFiles(dir string, spec *specs.Spec, opts *RunOptions, net attached) error {
	hostname := spec.Hostname
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	files, notes, err := netns.EtcFiles(netns.EtcOptions{
		Hostname: hostname, Addrs: net.addrs, HostNetwork: net.host, AddHosts: opts.Resolv.AddHosts,
		HostGateway: r.hostGateway(net),
		Resolv: netns.ResolvOptions{DNS: opts.Resolv.DNS, Search: opts.Resolv.Search, Options: opts.Resolv.Options,
			LoopbackVia: r.loopbackDNS(net)},
	})
	if err != nil {
		return fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
	}
	if net.rec.Mode != NetworkNone {
		for _, n := range notes {
			opts.notice(n)
		}
	}
	write := atomicfile.WriteFile
	if opts.Remove { // gone with the container; nothing to recover
		write = atomicfile.WriteFileVolatile
	}
	for _, f := range files {
		src := filepath.Join(dir, f.Name)
		if err := write(src, f.Data, 0o644); err != nil {
			return err
		}
		spec.Mounts = append(spec.Mounts, specs.Mount{
			Destination: "/etc/" + f.Name, Type: "bind", Source: src,
			Options: []string{"rbind", "rprivate"},
		})
	}
	return nil
}

// hostGateway is the address at which the container reaches the host
// (--add-host NAME:host-gateway, docker's): the bridge's gateway, the
// host's loopback as slirp4netns shows it to a rootless bridge container,
// the loopback itself on the host's network; none without a network.
func (r *Runtime) hostGateway(net attached) netip.Addr {
	switch {
	case net.host:
		return netip.MustParseAddr("127.0.0.1")
	case net.rec.Mode == NetworkBridge && r.cfg.Rootless:
		return netip.MustParseAddr(rootless.HostAlias)
	case net.rec.Bridge != nil:
		return net.rec.Bridge.Gateway
	}
	return netip.Addr{}
}

// loopbackDNS is the nameserver that stands in for the host's loopback
// resolvers (systemd-resolved's 127.0.0.53): rootless bridge containers
// reach them through slirp4netns's DNS forwarder; others have none.
func (r *Runtime) loopbackDNS(net attached) string {
	if r.cfg.Rootless && net.rec.Bridge != nil {
		return rootless.DNSAddr
	}
	return ""
}
