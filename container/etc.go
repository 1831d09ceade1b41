package container

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/netns"
	"github.com/edgerun/edgerun/specgen"
)

// Host files the resolver files are derived from.
const (
	hostResolvConf     = "/etc/resolv.conf"
	systemdResolvConf  = "/run/systemd/resolve/resolv.conf"
	hostHostsFile      = "/etc/hosts"
	systemdStubAddress = "127.0.0.53"
)

// writeEtcFiles writes the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf into its directory and bind-mounts them into the spec:
// for the network it is attached to, with --dns, --add-host and the like
// from opts.
func (r *Runtime) writeEtcFiles(dir string, spec *specs.Spec, opts *RunOptions, net attached) error {
	hostNet := net.host
	var extra []netns.HostEntry
	for _, h := range opts.Resolv.AddHosts {
		e, err := netns.ParseAddHost(h)
		if err != nil {
			return fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
		}
		extra = append(extra, e)
	}
	hostname := spec.Hostname
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	hosts := netns.Hosts(hostname, net.addrs, extra)
	if hostNet {
		// The host's network: its own hosts file, plus --add-host lines.
		if b, err := os.ReadFile(hostHostsFile); err == nil {
			hosts = netns.AppendHosts(b, extra)
		}
	}
	resolv, notes, err := netns.ResolvConf(hostResolv(), netns.ResolvOptions{
		KeepLoopback: hostNet,
		DNS:          opts.Resolv.DNS,
		Search:       opts.Resolv.Search,
		Options:      opts.Resolv.Options,
	})
	if err != nil {
		return fmt.Errorf("%w: %w", specgen.ErrInvalidOption, err)
	}
	if net.rec.Mode != NetworkNone {
		for _, n := range notes {
			opts.notice(n)
		}
	}
	files := []struct {
		name string
		data []byte
	}{
		{"hostname", netns.Hostname(hostname)},
		{"hosts", hosts},
		{"resolv.conf", resolv},
	}
	for _, f := range files {
		src := filepath.Join(dir, f.name)
		write := atomicfile.WriteFile
		if opts.Remove { // gone with the container; nothing to recover
			write = atomicfile.WriteFileVolatile
		}
		if err := write(src, f.data, 0o644); err != nil {
			return err
		}
		spec.Mounts = append(spec.Mounts, specs.Mount{
			Destination: "/etc/" + f.name, Type: "bind", Source: src,
			Options: []string{"rbind", "rprivate"},
		})
	}
	return nil
}

// hostResolv reads the host's resolver configuration; behind systemd's
// stub resolver it reads the real upstream servers instead.
func hostResolv() []byte {
	b, err := os.ReadFile(hostResolvConf)
	if err != nil {
		return nil
	}
	if bytes.Contains(b, []byte(systemdStubAddress)) {
		if up, err := os.ReadFile(systemdResolvConf); err == nil {
			return up
		}
	}
	return b
}
