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
	tcp := func(host, ctr uint16) PortMapping {
		return PortMapping{HostPort: host, ContainerPort: ctr, Proto: "tcp"}
	}
	cases := []struct {
		in   string
		want []PortMapping
	}{
		{"8080:80", []PortMapping{tcp(8080, 80)}},
		{"80", []PortMapping{tcp(0, 80)}},
		{"127.0.0.1:5353:53/udp", []PortMapping{{HostIP: ip, HostPort: 5353, ContainerPort: 53, Proto: "udp"}}},
		{"127.0.0.1::53/udp", []PortMapping{{HostIP: ip, ContainerPort: 53, Proto: "udp"}}},
		{"0.0.0.0:80:80/tcp", []PortMapping{tcp(80, 80)}},
		{"8000-8002:9000-9002", []PortMapping{tcp(8000, 9000), tcp(8001, 9001), tcp(8002, 9002)}},
		{"127.0.0.1:8000-8001:8000-8001/udp", []PortMapping{
			{HostIP: ip, HostPort: 8000, ContainerPort: 8000, Proto: "udp"}, {HostIP: ip, HostPort: 8001, ContainerPort: 8001, Proto: "udp"}}},
		{"8000-8002", []PortMapping{tcp(0, 8000), tcp(0, 8001), tcp(0, 8002)}},
		{"127.0.0.1::8000-8001", []PortMapping{{HostIP: ip, ContainerPort: 8000, Proto: "tcp"}, {HostIP: ip, ContainerPort: 8001, Proto: "tcp"}}},
		{"8000-8010:80", []PortMapping{{HostPort: 8000, HostPortEnd: 8010, ContainerPort: 80, Proto: "tcp"}}},
		{"8000-8000:80-80", []PortMapping{tcp(8000, 80)}},
		{"[2001:db8::5]:8080:80", []PortMapping{{HostIP: netip.MustParseAddr("2001:db8::5"), HostPort: 8080, ContainerPort: 80, Proto: "tcp"}}},
		{"[2001:db8::5]::53/udp", []PortMapping{{HostIP: netip.MustParseAddr("2001:db8::5"), ContainerPort: 53, Proto: "udp"}}},
		{"[::]:8080:80", []PortMapping{tcp(8080, 80)}},
		{"1-1024", nil},
	}
	for i := range MaxPortRange {
		cases[len(cases)-1].want = append(cases[len(cases)-1].want, tcp(0, uint16(1+i)))
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePublish(tc.in)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	for _, in := range []string{
		"8080:80/sctp", "8080:0", "0:80", "70000:80", "a:80", "host:80:80", "[::1]:80:80", "", "1:2:3:4", "[2001:db8::5]:80", "[2001:db8::5]8080:80", "2001:db8::5:8080:80", "[fe80::1%eth0]:80:80",
		"8000-8010:80-85", // lengths differ
		"8000:80-81",      // one host port for two container ports
		"8010-8000:80",    // backwards
		"8000-:80", "-8000:80", "8000-8001-8002:80",
		"1-1025", // more than MaxPortRange
		"1-1025:80",
		"0-10:80",
	} {
		t.Run(in, func(t *testing.T) {
			if got, err := ParsePublish(in); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %+v, %v; want ErrInvalid", got, err)
			}
		})
	}
}

func TestFormatPortsShowsRunsAsRangesAsDockerPs(t *testing.T) {
	ip := netip.MustParseAddr("127.0.0.1")
	ports := []PortMapping{
		{HostPort: 8000, ContainerPort: 8000, Proto: "tcp"}, {HostPort: 8001, ContainerPort: 8001, Proto: "tcp"},
		{HostPort: 8002, ContainerPort: 8002, Proto: "tcp"},
		{HostPort: 8003, ContainerPort: 8003, Proto: "udp"},           // another protocol
		{HostIP: ip, HostPort: 9000, ContainerPort: 80, Proto: "tcp"}, // single
		{HostIP: ip, HostPort: 9001, ContainerPort: 81, Proto: "tcp"}, // shifted range
		{HostPort: 32768, ContainerPort: 82, Proto: "tcp"},            // picked host ports,
		{HostPort: 40000, ContainerPort: 83, Proto: "tcp"},            // not a range
	}
	want := "0.0.0.0:8000-8002->8000-8002/tcp, 0.0.0.0:8003->8003/udp, 127.0.0.1:9000-9001->80-81/tcp, 0.0.0.0:32768->82/tcp, 0.0.0.0:40000->83/tcp"
	if got := FormatPorts(ports); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := FormatPorts(nil); got != "" {
		t.Errorf("no ports: %q", got)
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
