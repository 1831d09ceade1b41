package container

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/edgerun/edgerun/netns"
)

func TestPortLines(t *testing.T) {
	ports := []netns.PortMapping{
		{HostPort: 18080, ContainerPort: 8080, Proto: "tcp"},
		{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 5353, ContainerPort: 53, Proto: "udp"},
	}
	for _, tc := range []struct {
		private string
		want    []string
		err     error // nil: none; errAny: any
	}{
		{"", []string{"8080/tcp -> 0.0.0.0:18080", "53/udp -> 127.0.0.1:5353"}, nil},
		{"8080", []string{"0.0.0.0:18080"}, nil},
		{"8080/tcp", []string{"0.0.0.0:18080"}, nil},
		{"53/udp", []string{"127.0.0.1:5353"}, nil},
		{"53", nil, ErrNoPublicPort},
		{"80/sctp", nil, errAny},
		{"http", nil, errAny},
	} {
		t.Run(tc.private, func(t *testing.T) {
			got, err := PortLines(ports, tc.private)
			anyErr := errors.Is(tc.err, errAny)
			switch {
			case anyErr && err == nil, tc.err != nil && !anyErr && !errors.Is(err, tc.err):
				t.Fatalf("err = %v, want %v", err, tc.err)
			case tc.err == nil && err != nil:
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

var errAny = errors.New("any error")
