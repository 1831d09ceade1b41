// Package netns owns container networking: network namespaces, the bridge,
// veth pairs, IPAM, NAT and published ports, and the files a container's
// resolver reads (/etc/resolv.conf, /etc/hosts, /etc/hostname).
package netns

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// HostEntry is one extra /etc/hosts line (--add-host NAME:IP).
type HostEntry struct {
	Name string
	IP   netip.Addr
}

// HostGatewayName is docker's --add-host NAME:host-gateway: the address
// at which the container reaches the host.
const HostGatewayName = "host-gateway"

// ParseAddHost parses docker's --add-host NAME:IP (IPv6 may be bracketed),
// or NAME:host-gateway, which is hostGateway (invalid: the container has no
// address that reaches the host).
func ParseAddHost(s string, hostGateway netip.Addr) (HostEntry, error) {
	name, ip, ok := strings.Cut(s, ":")
	if !ok || name == "" || ip == "" {
		return HostEntry{}, fmt.Errorf("--add-host %q: use NAME:IP, e.g. db:192.168.1.20", s)
	}
	if strings.ContainsAny(name, " \t#") {
		return HostEntry{}, fmt.Errorf("--add-host %q: the host name may not contain spaces or '#'", s)
	}
	if ip == HostGatewayName {
		if !hostGateway.IsValid() {
			return HostEntry{}, fmt.Errorf("--add-host %q: this container has no address that reaches the host: use --network bridge or host", s)
		}
		return HostEntry{Name: name, IP: hostGateway}, nil
	}
	a, err := netip.ParseAddr(strings.Trim(ip, "[]"))
	if err != nil {
		return HostEntry{}, fmt.Errorf("--add-host %q: %q is not an IP address (or host-gateway)", s, ip)
	}
	return HostEntry{Name: name, IP: a}, nil
}

// Hosts renders /etc/hosts: localhost lines, the container's own name on
// each of its addresses (127.0.1.1 when it has none), then the extras.
func Hosts(hostname string, addrs []netip.Addr, extra []HostEntry) []byte {
	var b bytes.Buffer
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	if len(addrs) == 0 {
		fmt.Fprintf(&b, "127.0.1.1\t%s\n", hostname)
	}
	for _, a := range addrs {
		fmt.Fprintf(&b, "%s\t%s\n", a, hostname)
	}
	for _, e := range extra {
		fmt.Fprintf(&b, "%s\t%s\n", e.IP, e.Name)
	}
	return b.Bytes()
}

// AppendHosts adds the extra entries to an existing hosts file.
func AppendHosts(hosts []byte, extra []HostEntry) []byte {
	b := bytes.NewBuffer(bytes.Clone(hosts))
	if len(hosts) > 0 && hosts[len(hosts)-1] != '\n' {
		b.WriteByte('\n')
	}
	for _, e := range extra {
		fmt.Fprintf(b, "%s\t%s\n", e.IP, e.Name)
	}
	return b.Bytes()
}

// Hostname renders /etc/hostname.
func Hostname(name string) []byte { return []byte(name + "\n") }

// ResolvOptions are the resolver settings a container asked for.
type ResolvOptions struct {
	// KeepLoopback keeps loopback nameservers (host networking, where the
	// host's 127.0.0.53 is reachable).
	KeepLoopback bool
	// LoopbackVia replaces the host's loopback nameservers when set: a
	// server that forwards to them (rootless: slirp4netns's 10.0.2.3).
	LoopbackVia string
	DNS         []string // --dns, replaces the host's nameservers
	Search      []string // --dns-search, replaces the host's search list
	Options     []string // --dns-option
}

// fallbackDNS is used, as docker does, when no usable nameserver is left.
var fallbackDNS = []string{"8.8.8.8", "8.8.4.4"}

// ResolvConf renders the container's /etc/resolv.conf from the host's.
// Loopback nameservers cannot be reached from a separate network namespace,
// so they are dropped; notes say what was changed.
func ResolvConf(host []byte, o ResolvOptions) (content []byte, notes []string, err error) {
	var servers, search, options []string
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			a, perr := netip.ParseAddr(f[1])
			if perr != nil {
				continue
			}
			if a.IsLoopback() && !o.KeepLoopback {
				if o.LoopbackVia != "" {
					if !slices.Contains(servers, o.LoopbackVia) {
						servers = append(servers, o.LoopbackVia)
					}
					continue
				}
				notes = append(notes, fmt.Sprintf("dropped loopback nameserver %s from the container's resolv.conf", a))
				continue
			}
			servers = append(servers, a.String())
		case "search", "domain":
			search = f[1:]
		case "options":
			options = append(options, f[1:]...)
		}
	}
	if len(o.DNS) > 0 {
		servers = servers[:0]
		for _, s := range o.DNS {
			a, perr := netip.ParseAddr(s)
			if perr != nil {
				return nil, nil, fmt.Errorf("--dns %q is not an IP address", s)
			}
			servers = append(servers, a.String())
		}
	}
	if len(servers) == 0 {
		servers = fallbackDNS
		notes = append(notes, "no usable nameserver on the host: the container uses "+strings.Join(fallbackDNS, ", ")+" (set --dns to choose)")
	}
	if len(o.Search) > 0 {
		search = o.Search
	}
	if len(o.Options) > 0 {
		options = o.Options
	}
	var b bytes.Buffer
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(search) > 0 && !(len(search) == 1 && search[0] == ".") {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.Bytes(), notes, nil
}
