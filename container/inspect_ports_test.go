package container

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/edgerun/edgerun/netns"
)

// TestInspectShowsPortRangesAsDocker: -p with ranges is one binding per
// container port, as docker's inspect has them; a host range for one
// container port is docker's "8000-8010" in PortBindings and the port
// edgerun picked in NetworkSettings.Ports.
func TestInspectShowsPortRangesAsDocker(t *testing.T) {
	in := fixtureInput()
	in.req.Net.Publish = []string{"9000-9001:80-81/udp", "127.0.0.1:7000-7010:8080"}
	in.rec.Network.Bridge.Ports = []netns.PortMapping{
		{HostPort: 9000, ContainerPort: 80, Proto: "udp"}, {HostPort: 9001, ContainerPort: 81, Proto: "udp"},
		{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 7003, ContainerPort: 8080, Proto: "tcp"},
	}
	doc := buildInspect(in)
	wantBindings := map[string][]PortBinding{
		"80/udp":   {{HostPort: "9000"}},
		"81/udp":   {{HostPort: "9001"}},
		"8080/tcp": {{HostIP: "127.0.0.1", HostPort: "7000-7010"}},
	}
	if !reflect.DeepEqual(doc.HostConfig.PortBindings, wantBindings) {
		t.Errorf("PortBindings %+v, want %+v", doc.HostConfig.PortBindings, wantBindings)
	}
	wantPorts := map[string][]PortBinding{
		"80/udp":   {{HostIP: "0.0.0.0", HostPort: "9000"}},
		"81/udp":   {{HostIP: "0.0.0.0", HostPort: "9001"}},
		"8080/tcp": {{HostIP: "127.0.0.1", HostPort: "7003"}},
	}
	if !reflect.DeepEqual(doc.NetworkSettings.Ports, wantPorts) {
		t.Errorf("NetworkSettings.Ports %+v, want %+v", doc.NetworkSettings.Ports, wantPorts)
	}
	if got, want := in.rec.Ports(), "0.0.0.0:9000-9001->80-81/udp, 127.0.0.1:7003->8080/tcp"; got != want {
		t.Errorf("ps PORTS %q, want %q", got, want)
	}
}
