package netns

import (
	"errors"
	"net/netip"
	"testing"
)

func TestParsePublish(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	cases := []struct {
		in   string
		want PortMapping
		err  bool
	}{
		{"8080:80", PortMapping{HostPort: 8080, ContainerPort: 80, Proto: "tcp"}, false},
		{"80", PortMapping{ContainerPort: 80, Proto: "tcp"}, false},
		{"127.0.0.1:5353:53/udp", PortMapping{HostIP: ip, HostPort: 5353, ContainerPort: 53, Proto: "udp"}, false},
		{"127.0.0.1::53/udp", PortMapping{HostIP: ip, ContainerPort: 53, Proto: "udp"}, false},
		{"0.0.0.0:80:80/tcp", PortMapping{HostPort: 80, ContainerPort: 80, Proto: "tcp"}, false},
		{"8080:80/sctp", PortMapping{}, true},
		{"8080:0", PortMapping{}, true},
		{"0:80", PortMapping{}, true},
		{"70000:80", PortMapping{}, true},
		{"8000-8010:80", PortMapping{}, true},
		{"a:80", PortMapping{}, true},
		{"host:80:80", PortMapping{}, true},
		{"[::1]:80:80", PortMapping{}, true},
		{"", PortMapping{}, true},
		{"1:2:3:4", PortMapping{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePublish(tc.in)
			if tc.err {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseExposed(t *testing.T) {
	for in, want := range map[string]PortMapping{
		"8080/tcp": {ContainerPort: 8080, Proto: "tcp"},
		"53/udp":   {ContainerPort: 53, Proto: "udp"},
		"80":       {ContainerPort: 80, Proto: "tcp"},
	} {
		if got, err := ParseExposed(in); err != nil || got != want {
			t.Errorf("%s: %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{"8080/sctp", "x/tcp", "0/tcp"} {
		if _, err := ParseExposed(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", in, err)
		}
	}
}

func TestPortConflicts(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	other := netip.MustParseAddr("10.0.0.1")
	any80 := PortMapping{HostPort: 80, Proto: "tcp"}
	cases := []struct {
		a, b PortMapping
		want bool
	}{
		{any80, any80, true},
		{any80, PortMapping{HostIP: lo, HostPort: 80, Proto: "tcp"}, true},
		{PortMapping{HostIP: lo, HostPort: 80, Proto: "tcp"}, PortMapping{HostIP: other, HostPort: 80, Proto: "tcp"}, false},
		{any80, PortMapping{HostPort: 80, Proto: "udp"}, false},
		{any80, PortMapping{HostPort: 81, Proto: "tcp"}, false},
	}
	for _, tc := range cases {
		if got := tc.a.conflicts(tc.b); got != tc.want {
			t.Errorf("%s vs %s: %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
