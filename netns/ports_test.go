package netns

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
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

func TestParseExpose(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "80", want: []string{"80/tcp"}},
		{in: "53/udp", want: []string{"53/udp"}},
		{in: "8000-8002/TCP", want: []string{"8000/tcp", "8001/tcp", "8002/tcp"}},
		{in: "9/sctp", wantErr: "not tcp or udp"},
		{in: "0", wantErr: "1-65535"},
		{in: "70000", wantErr: "1-65535"},
		{in: "http", wantErr: "1-65535"},
		{in: "10-5", wantErr: "ends before"},
		{in: "1-65535", wantErr: "at most 1024"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseExpose(tt.in)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseExpose(%q) = %v, %v; want an error saying %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseExpose(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}
