package netns

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MaxPortRange is the most ports one -p may publish (8000-9023): every
// port is a lease file and a DNAT rule of its own. apply's compose
// parser has the same limit.
const MaxPortRange = 1024

// PortMapping is one published port: HostIP:HostPort on the host forwards
// to the container's ContainerPort. An invalid HostIP means every address
// of the host (including 127.0.0.1); HostPort 0 means "pick a free one".
// HostPortEnd, set only in a request, makes HostPort-HostPortEnd the host
// ports to pick one free port from (docker's -p 8000-8010:80); a leased
// mapping has a single HostPort.
type PortMapping struct {
	HostIP        netip.Addr `json:"hostIP,omitzero"`
	HostPort      uint16     `json:"hostPort"`
	HostPortEnd   uint16     `json:"hostPortEnd,omitempty"`
	ContainerPort uint16     `json:"containerPort"`
	Proto         string     `json:"proto"` // tcp or udp
}

func (p PortMapping) String() string {
	return fmt.Sprintf("%s:%s->%d/%s", hostShown(p.HostIP), p.HostPorts(), p.ContainerPort, p.Proto)
}

// hostShown is a host address as ps and messages show it: IPv6 in
// brackets, as docker's [::1]:8080->80/tcp.
func hostShown(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return hostOrAny(a)
}

// HostPorts is the host port, or the range to pick it from ("8000-8010").
func (p PortMapping) HostPorts() string {
	if p.HostPortEnd > p.HostPort {
		return fmt.Sprintf("%d-%d", p.HostPort, p.HostPortEnd)
	}
	return strconv.Itoa(int(p.HostPort))
}

// ParsePublish parses docker's -p/--publish,
// [[HOSTIP:]HOSTPORT:]CONTAINERPORT[/tcp|/udp], where each port may be a
// range: one mapping per container port. Without HOSTPORT free host ports
// are picked at setup; a host range of the container range's length maps
// port by port; a host range for one container port picks one free port
// from it.
func ParsePublish(s string) ([]PortMapping, error) {
	bad := func(why string) ([]PortMapping, error) {
		return nil, fmt.Errorf("%w: -p %q: %s (use [HOSTIP:][HOSTPORT:]CONTAINERPORT[/tcp|udp], each port a number or a range, e.g. 8080:80, 127.0.0.1:5353:53/udp or 8000-8010:8000-8010)", ErrInvalid, s, why)
	}
	spec, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return bad("protocol " + strconv.Quote(proto) + " is not tcp or udp")
	}
	var hostIP, hostPort, ctrPort string
	if rest, ok := strings.CutPrefix(spec, "["); ok { // [IPv6]:HOSTPORT:CONTAINERPORT
		var ports string
		hostIP, ports, _ = strings.Cut(rest, "]:")
		if hostPort, ctrPort, ok = strings.Cut(ports, ":"); !ok || hostIP == "" || strings.Contains(ctrPort, ":") {
			return bad("an IPv6 host address is written [ADDRESS]:HOSTPORT:CONTAINERPORT")
		}
	} else {
		parts := strings.Split(spec, ":")
		switch len(parts) {
		case 1:
			ctrPort = parts[0]
		case 2:
			hostPort, ctrPort = parts[0], parts[1]
		case 3:
			hostIP, hostPort, ctrPort = parts[0], parts[1], parts[2]
		default:
			return bad("too many ':' (write an IPv6 host address in brackets: [2001:db8::5]:8080:80)")
		}
	}
	var ip netip.Addr
	if hostIP != "" {
		a, err := netip.ParseAddr(hostIP)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			return bad(strconv.Quote(hostIP) + " is not an IPv4 address or an IPv6 one in brackets")
		}
		if a.Is6() && a.IsLoopback() {
			// Tried on 6.18: a DNATed connection from ::1 is dropped on
			// its way to the bridge (IPv4 needs route_localnet for this,
			// and IPv6 has no such switch).
			return bad("[::1] cannot be published: Linux does not route IPv6 loopback traffic to a container (IPv6 has no route_localnet); publish on 127.0.0.1 and connect there, or on the host's IPv6 address")
		}
		if !a.IsUnspecified() {
			ip = a
		}
	}
	clo, chi, ok := parsePortRange(ctrPort)
	if !ok {
		return bad("container port " + strconv.Quote(ctrPort) + " is not a port 1-65535 or a range like 8000-8010")
	}
	var hlo, hhi uint16
	if hostPort != "" {
		if hlo, hhi, ok = parsePortRange(hostPort); !ok {
			return bad("host port " + strconv.Quote(hostPort) + " is not a port 1-65535 or a range like 8000-8010")
		}
	}
	if int(chi-clo) >= MaxPortRange || int(hhi-hlo) >= MaxPortRange {
		return bad("a range of more than " + strconv.Itoa(MaxPortRange) + " ports")
	}
	if hostPort != "" && clo == chi && hhi > hlo {
		// One container port, any free host port of the range.
		return []PortMapping{{HostIP: ip, HostPort: hlo, HostPortEnd: hhi, ContainerPort: clo, Proto: proto}}, nil
	}
	if hostPort != "" && hhi-hlo != chi-clo {
		return bad(fmt.Sprintf("the host range has %d ports and the container range %d: give ranges of the same length, or one container port", int(hhi-hlo)+1, int(chi-clo)+1))
	}
	out := make([]PortMapping, 0, int(chi-clo)+1)
	for i := 0; i <= int(chi-clo); i++ {
		m := PortMapping{HostIP: ip, ContainerPort: clo + uint16(i), Proto: proto}
		if hlo != 0 {
			m.HostPort = hlo + uint16(i)
		}
		out = append(out, m)
	}
	return out, nil
}

// parsePortRange reads "80" or "8000-8010" (ports 1-65535, low to high).
func parsePortRange(s string) (lo, hi uint16, ok bool) {
	a, b, isRange := strings.Cut(s, "-")
	l, err := parsePort(a)
	h := l
	if err == nil && isRange {
		h, err = parsePort(b)
	}
	if err != nil || l == 0 || h < l {
		return 0, 0, false
	}
	return l, h, true
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	return uint16(n), err
}

// ParseExposed parses an image's ExposedPorts key ("8080/tcp", "53/udp",
// "80") into a mapping with a host port to be picked (-P).
func ParseExposed(s string) (PortMapping, error) {
	port, proto, ok := strings.Cut(s, "/")
	if !ok {
		proto = "tcp"
	}
	n, err := parsePort(port)
	if err != nil || n == 0 || (proto != "tcp" && proto != "udp") {
		return PortMapping{}, fmt.Errorf("%w: the image exposes %q, which -P cannot publish: publish its ports with -p", ErrInvalid, s)
	}
	return PortMapping{ContainerPort: n, Proto: proto}, nil
}

// conflicts reports whether two mappings need the same host port.
func (p PortMapping) conflicts(q PortMapping) bool {
	return p.Proto == q.Proto && p.HostPort == q.HostPort &&
		(!p.HostIP.IsValid() || !q.HostIP.IsValid() || p.HostIP == q.HostIP)
}

// maxExposeRange bounds the ports one --expose range may name.
const maxExposeRange = 1024

// ParseExpose parses docker's --expose PORT[/PROTO] or START-END[/PROTO]
// into ExposedPorts keys ("8080/tcp"), one per port of a range. Only tcp
// and udp exist here; a range may name at most 1024 ports.
func ParseExpose(s string) ([]string, error) {
	bad := func(why string) ([]string, error) {
		return nil, fmt.Errorf("%w: --expose %q: %s (use PORT[/tcp|udp] or START-END[/tcp|udp], e.g. 8080 or 5000-5010/udp)", ErrInvalid, s, why)
	}
	ports, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto = strings.ToLower(proto); proto != "tcp" && proto != "udp" {
		return bad("protocol " + strconv.Quote(proto) + " is not tcp or udp")
	}
	first, last, isRange := strings.Cut(ports, "-")
	if !isRange {
		last = first
	}
	lo, err1 := strconv.ParseUint(first, 10, 16)
	hi, err2 := strconv.ParseUint(last, 10, 16)
	switch {
	case err1 != nil || err2 != nil || lo == 0 || hi == 0:
		return bad("a port is a number in 1-65535")
	case hi < lo:
		return bad("the range ends before it starts")
	case hi-lo >= maxExposeRange:
		return bad(fmt.Sprintf("a range names at most %d ports", maxExposeRange))
	}
	out := make([]string, 0, hi-lo+1)
	for p := lo; p <= hi; p++ {
		out = append(out, fmt.Sprintf("%d/%s", p, proto))
	}
	return out, nil
}

// FormatPorts lists published ports as docker's ps does: a run of
// mappings whose host and container ports both count up by one (same
// address and protocol) is one range, 0.0.0.0:8000-8010->8000-8010/tcp.
func FormatPorts(ports []PortMapping) string {
	var out []string
	for i := 0; i < len(ports); {
		p, j := ports[i], i+1
		for j < len(ports) && ports[j].HostIP == p.HostIP && ports[j].Proto == p.Proto &&
			int(ports[j].HostPort) == int(p.HostPort)+(j-i) && int(ports[j].ContainerPort) == int(p.ContainerPort)+(j-i) {
			j++
		}
		if j-i == 1 {
			out = append(out, p.String())
		} else {
			last := ports[j-1]
			out = append(out, fmt.Sprintf("%s:%d-%d->%d-%d/%s", hostShown(p.HostIP), p.HostPort, last.HostPort, p.ContainerPort, last.ContainerPort, p.Proto))
		}
		i = j
	}
	return strings.Join(out, ", ")
}
