package container

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/edgerun/edgerun/netns"
	"github.com/edgerun/edgerun/specgen"
)

// ErrNoPublicPort: edgerun port was asked for a container port that is
// not published.
var ErrNoPublicPort = errors.New("no public port published")

// Port lists the published ports of a running container as docker port
// prints them: "80/tcp -> 0.0.0.0:8080", or with private ("80",
// "80/tcp", "53/udp") only the host addresses of that port. A stopped
// container has none (its ports are not forwarded), as in ps.
func (r *Runtime) Port(ref, private string) ([]string, error) {
	rec, err := r.Inspect(ref)
	if err != nil {
		return nil, err
	}
	var ports []netns.PortMapping
	if rec.State == StateRunning && rec.Network.Bridge != nil {
		ports = rec.Network.Bridge.Ports
	}
	lines, err := PortLines(ports, private)
	if errors.Is(err, ErrNoPublicPort) {
		return nil, fmt.Errorf("%w: container %s does not publish %s", err, rec.Name, private)
	}
	return lines, err
}

// PortLines formats published ports as docker port does (see Port).
func PortLines(ports []netns.PortMapping, private string) ([]string, error) {
	var want uint16
	proto := ""
	if private != "" {
		p, pr, hasProto := strings.Cut(private, "/")
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 || (hasProto && pr != "tcp" && pr != "udp") {
			return nil, fmt.Errorf("%w: port %q: give PORT or PORT/tcp or PORT/udp, e.g. 80/tcp", specgen.ErrInvalidOption, private)
		}
		want, proto = uint16(n), "tcp"
		if hasProto {
			proto = pr
		}
	}
	var lines []string
	for _, p := range ports {
		host := net.JoinHostPort(hostIP(p), strconv.Itoa(int(p.HostPort)))
		switch {
		case private == "":
			lines = append(lines, fmt.Sprintf("%d/%s -> %s", p.ContainerPort, p.Proto, host))
		case p.ContainerPort == want && p.Proto == proto:
			lines = append(lines, host)
		}
	}
	if private != "" && len(lines) == 0 {
		return nil, ErrNoPublicPort
	}
	return lines, nil
}

func hostIP(p netns.PortMapping) string {
	if p.HostIP.IsValid() {
		return p.HostIP.String()
	}
	return "0.0.0.0"
}
