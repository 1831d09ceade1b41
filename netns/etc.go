package netns

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"
)

// Host files a container's resolver files are derived from.
const (
	hostResolvConf     = "/etc/resolv.conf"
	systemdResolvConf  = "/run/systemd/resolve/resolv.conf"
	hostHostsFile      = "/etc/hosts"
	systemdStubAddress = "127.0.0.53"
)

// EtcOptions are what a container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf are made of.
type EtcOptions struct {
	Hostname    string
	Addrs       []netip.Addr // the container's own addresses
	HostNetwork bool         // the host's network: its hosts file, loopback resolvers kept
	AddHosts    []string     // --add-host NAME:IP
	HostGateway netip.Addr   // what --add-host NAME:host-gateway names
	Resolv      ResolvOptions
}

// EtcFile is one of the files EtcFiles makes: its name in /etc and content.
type EtcFile struct {
	Name string
	Data []byte
}

// EtcFiles renders a container's hostname, hosts and resolv.conf from the
// host's files and the options, with notes for the user about resolver
// settings it had to change. Its errors are about --add-host and the
// --dns flags.
func EtcFiles(o EtcOptions) ([]EtcFile, []string, error) {
	var extra []HostEntry
	for _, h := range o.AddHosts {
		e, err := ParseAddHost(h, o.HostGateway)
		if err != nil {
			return nil, nil, err
		}
		extra = append(extra, e)
	}
	hosts := Hosts(o.Hostname, o.Addrs, extra)
	if o.HostNetwork {
		// The host's network: its own hosts file, plus --add-host lines.
		if b, err := os.ReadFile(hostHostsFile); err == nil {
			hosts = AppendHosts(b, extra)
		}
	}
	ro := o.Resolv
	ro.KeepLoopback = o.HostNetwork
	resolv, notes, err := ResolvConf(hostResolv(), ro)
	if err != nil {
		return nil, nil, err
	}
	return []EtcFile{{"hostname", Hostname(o.Hostname)}, {"hosts", hosts}, {"resolv.conf", resolv}}, notes, nil
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

// Peer is a container on a bridge as the others' /etc/hosts name it.
type Peer struct {
	IP       netip.Addr
	IP6      netip.Addr // on a dual-stack network; invalid otherwise
	Name, ID string
	Aliases  []string // its --network-alias names on that network
}

// peersMarker starts the part of a bridge container's /etc/hosts that
// names the other containers on its bridge.
const peersMarker = "# edgerun: containers on bridge "

// PeersSection renders the part of a hosts file that names every
// container on bridge (name, short ID and aliases), so containers reach
// each other by name without a DNS server. A container on several
// networks has one section per network, its first network's first.
func PeersSection(bridge string, peers []Peer) string {
	var b strings.Builder
	b.WriteString(peersMarker + bridge + "\n")
	for _, p := range peers {
		for _, ip := range []netip.Addr{p.IP, p.IP6} {
			if !ip.IsValid() {
				continue
			}
			fmt.Fprintf(&b, "%s\t%s %s", ip, p.Name, p.ID[:min(12, len(p.ID))])
			for _, a := range p.Aliases {
				b.WriteString(" " + a)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// RewritePeers replaces the peers section of the hosts file at path with
// section, in place (the file is bind-mounted into a running container: a
// rename would not show). A missing file is no error.
//
// It is not fsynced: a start rewrites the file of every container on its
// networks, and a hundred fsyncs made starts grow with the number of
// containers. What a power cut can do to it is bounded: the file is
// written from its start and then cut to length, never truncated first,
// so the base part (written whole and durably at create) and the marker
// after it hold the same bytes in the old and the new version, and only
// the peers section can be torn. That section is written again when the
// container's network is restored after the reboot (container's
// ensureNetwork).
func RewritePeers(path, section string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	old, err := io.ReadAll(f)
	if err != nil {
		return errors.Join(err, f.Close())
	}
	data := hostsBase(string(old)) + section
	_, err = f.WriteAt([]byte(data), 0)
	if err == nil && len(data) < len(old) { // a longer file was overwritten whole
		err = f.Truncate(int64(len(data)))
	}
	return errors.Join(err, f.Close())
}

// hostsBase is a hosts file's part before its peers section: up to the
// first line that is a comment (the base has none; a torn marker may be
// any prefix of one) or the first NUL (a power cut's unwritten block).
func hostsBase(text string) string {
	if i := strings.IndexByte(text, 0); i >= 0 {
		text = text[:i]
	}
	if strings.HasPrefix(text, "#") {
		return ""
	}
	if i := strings.Index(text, "\n#"); i >= 0 {
		return text[:i+1]
	}
	return text
}

// PlanPorts parses -p specs and, with publishAll (-P), adds the image's
// exposed ports (docker's "80/tcp" form) not already published, in a
// stable order, each on a free host port chosen at setup.
func PlanPorts(publish []string, publishAll bool, exposed []string) ([]PortMapping, error) {
	var ports []PortMapping
	for _, s := range publish {
		m, err := ParsePublish(s)
		if err != nil {
			return nil, err
		}
		ports = append(ports, m...)
	}
	if !publishAll {
		return ports, nil
	}
	exposed = slices.Sorted(slices.Values(exposed))
	for _, k := range exposed {
		m, err := ParseExposed(k)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(ports, func(q PortMapping) bool { return q.ContainerPort == m.ContainerPort && q.Proto == m.Proto }) {
			ports = append(ports, m)
		}
	}
	return ports, nil
}
