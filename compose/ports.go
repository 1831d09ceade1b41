package compose

import (
	"net/netip"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxPortRange is the most ports one entry of ports may publish.
const maxPortRange = 1024

// Port is one published port. HostPort 0 publishes ContainerPort on a
// port the system picks (Compose's "80"); HostIP "" is every address.
type Port struct {
	HostIP        string
	HostPort      uint16
	ContainerPort uint16
	Proto         string // tcp or udp
	line          int
	path          string
}

// String is docker's -p form: [HOST_IP:][HOST_PORT:]PORT/PROTO.
func (p Port) String() string {
	s := strconv.Itoa(int(p.ContainerPort)) + "/" + p.Proto
	if p.HostPort != 0 || p.HostIP != "" {
		host := ""
		if p.HostPort != 0 {
			host = strconv.Itoa(int(p.HostPort))
		}
		s = host + ":" + s
	}
	if p.HostIP != "" {
		ip := p.HostIP
		if strings.Contains(ip, ":") {
			ip = "[" + ip + "]"
		}
		s = ip + ":" + s
	}
	return s
}

const portWant = `a string like "8080:80" or a map with target`

func (p *parser) ports(b *builder, e entry) error {
	items, err := p.items(e.v, e.path, false)
	if err != nil {
		return err
	}
	for i, item := range items {
		path := index(e.path, i)
		var ps []Port
		if deref(item).Kind == yaml.MappingNode {
			ps, err = p.longPort(item, path)
		} else {
			ps, err = p.shortPort(item, path)
		}
		if err != nil {
			return err
		}
		for j := range ps {
			ps[j].line, ps[j].path = deref(item).Line, path
		}
		b.s.Ports = append(b.s.Ports, ps...)
	}
	return nil
}

// shortPort reads [HOST_IP:][HOST_PORT:]PORT[/PROTO], ports or ranges.
func (p *parser) shortPort(n *yaml.Node, path string) ([]Port, error) {
	s, err := p.scalar(n, path, portWant)
	if err != nil {
		return nil, err
	}
	bad := func(why string) error {
		return p.invalid(n, path, `want a string like "8080:80", "127.0.0.1:8080:80/udp" or "80", got %q: %s`, s, why)
	}
	rest, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return nil, bad("the protocol must be tcp or udp")
	}
	ip := ""
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]:")
		if end < 0 {
			return nil, bad("an IPv6 address in [ ] is followed by :")
		}
		ip, rest = rest[1:end], rest[end+2:]
		if !strings.Contains(rest, ":") {
			return nil, bad("an address needs a host port, or :: for any")
		}
	}
	parts := strings.Split(rest, ":")
	var host string
	switch {
	case len(parts) == 1:
	case len(parts) == 2:
		host = parts[0]
	case len(parts) == 3 && ip == "":
		ip, host = parts[0], parts[1]
	default:
		return nil, bad("too many ':' (write an IPv6 address in [ ])")
	}
	out, why := expandPorts(ip, host, parts[len(parts)-1], proto)
	if why != "" {
		return nil, bad(why)
	}
	return out, nil
}

// expandPorts makes the ports of one entry; why says what is wrong.
func expandPorts(ip, host, container, proto string) ([]Port, string) {
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return nil, "the host address is not an IP address"
		}
		ip = a.String()
	}
	clo, chi, ok := portRange(container)
	if !ok {
		return nil, "the container port must be a port 1-65535 or a range like 8000-8010"
	}
	hlo, hhi := uint16(0), uint16(0)
	if host != "" {
		if hlo, hhi, ok = portRange(host); !ok {
			return nil, "the host port must be a port 1-65535 or a range like 8000-8010"
		}
		if hhi-hlo != chi-clo {
			return nil, "the host and container ranges differ in length"
		}
	}
	if int(chi)-int(clo) >= maxPortRange {
		return nil, "a range of more than " + strconv.Itoa(maxPortRange) + " ports"
	}
	out := make([]Port, 0, int(chi-clo)+1)
	for i := 0; i <= int(chi-clo); i++ {
		pt := Port{HostIP: ip, ContainerPort: clo + uint16(i), Proto: proto}
		if hlo != 0 {
			pt.HostPort = hlo + uint16(i)
		}
		out = append(out, pt)
	}
	return out, ""
}

// portRange reads "80" or "8000-8010".
func portRange(s string) (lo, hi uint16, ok bool) {
	a, b, isRange := strings.Cut(s, "-")
	l, err1 := strconv.ParseUint(a, 10, 16)
	h, err2 := l, error(nil)
	if isRange {
		h, err2 = strconv.ParseUint(b, 10, 16)
	}
	if err1 != nil || err2 != nil || l == 0 || h < l {
		return 0, 0, false
	}
	return uint16(l), uint16(h), true
}

// longPort reads {target, published, host_ip, protocol}.
func (p *parser) longPort(n *yaml.Node, path string) ([]Port, error) {
	entries, err := p.mapping(n, path)
	if err != nil {
		return nil, err
	}
	var ip, host, container, proto string
	for _, e := range entries {
		var err error
		switch e.key {
		case "target":
			container, err = p.scalar(e.v, e.path, "a port number")
		case "published":
			host, err = p.scalar(e.v, e.path, "a port number")
		case "host_ip":
			ip, err = p.str(e.v, e.path)
		case "protocol":
			proto, err = p.str(e.v, e.path)
		default:
			err = p.errAt(e.k, e.path, ErrUnsupported, "not supported by edgerun apply (supported keys: host_ip, protocol, published, target)")
		}
		if err != nil {
			return nil, err
		}
	}
	if container == "" {
		return nil, p.invalid(n, child(path, "target"), "missing: want the container's port")
	}
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return nil, p.invalid(n, child(path, "protocol"), "want tcp or udp, got %q", proto)
	}
	out, why := expandPorts(ip, host, container, proto)
	if why != "" {
		return nil, p.invalid(n, path, "%s", why)
	}
	return out, nil
}
