package netns

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// PortMapping is one published port: HostIP:HostPort on the host forwards
// to the container's ContainerPort. An invalid HostIP means every address
// of the host (including 127.0.0.1); HostPort 0 means "pick a free one".
type PortMapping struct {
	HostIP        netip.Addr `json:"hostIP,omitzero"`
	HostPort      uint16     `json:"hostPort"`
	ContainerPort uint16     `json:"containerPort"`
	Proto         string     `json:"proto"` // tcp or udp
}

func (p PortMapping) String() string {
	return fmt.Sprintf("%s:%d->%d/%s", hostOrAny(p.HostIP), p.HostPort, p.ContainerPort, p.Proto)
}

// ParsePublish parses docker's -p/--publish:
// [[HOSTIP:]HOSTPORT:]CONTAINERPORT[/tcp|/udp]. Without HOSTPORT a free
// host port is picked at setup.
func ParsePublish(s string) (PortMapping, error) {
	bad := func(why string) (PortMapping, error) {
		return PortMapping{}, fmt.Errorf("%w: -p %q: %s (use [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp], e.g. 8080:80 or 127.0.0.1:5353:53/udp)", ErrInvalid, s, why)
	}
	spec, proto, hasProto := strings.Cut(s, "/")
	if !hasProto {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return bad("protocol " + strconv.Quote(proto) + " is not tcp or udp")
	}
	var m PortMapping
	m.Proto = proto
	parts := strings.Split(spec, ":")
	var hostIP, hostPort, ctrPort string
	switch len(parts) {
	case 1:
		ctrPort = parts[0]
	case 2:
		hostPort, ctrPort = parts[0], parts[1]
	case 3:
		hostIP, hostPort, ctrPort = parts[0], parts[1], parts[2]
	default:
		if strings.HasPrefix(spec, "[") {
			return bad("IPv6 host addresses are not supported yet")
		}
		return bad("too many ':'")
	}
	if hostIP != "" {
		a, err := netip.ParseAddr(hostIP)
		if err != nil || !a.Is4() {
			return bad(strconv.Quote(hostIP) + " is not an IPv4 address")
		}
		if !a.IsUnspecified() {
			m.HostIP = a
		}
	}
	var err error
	if m.ContainerPort, err = parsePort(ctrPort); err != nil || m.ContainerPort == 0 {
		return bad("container port " + strconv.Quote(ctrPort) + " is not a number in 1-65535")
	}
	if hostPort != "" {
		if m.HostPort, err = parsePort(hostPort); err != nil || m.HostPort == 0 {
			return bad("host port " + strconv.Quote(hostPort) + " is not a number in 1-65535")
		}
	}
	return m, nil
}

func parsePort(s string) (uint16, error) {
	if strings.Contains(s, "-") {
		return 0, fmt.Errorf("port ranges are not supported")
	}
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
