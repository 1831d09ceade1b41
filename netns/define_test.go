package netns

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckNameTakesDockersNamesButNotThePredefinedOnes(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"front", true}, {"back-end_1.v2", true}, {"9lives", true}, {strings.Repeat("a", maxNameLen), true},
		{"", false}, {"-x", false}, {".x", false}, {"a b", false}, {"a/b", false}, {"../x", false}, {"a:b", false},
		{strings.Repeat("a", maxNameLen+1), false},
		{"bridge", false}, {"host", false}, {"none", false}, {"default", false},
	} {
		err := CheckName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("CheckName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckName(%q): %v does not wrap ErrInvalid", tt.name, err)
		}
	}
}

func TestParseOptionsTakesDockersKeysAndTheShortForms(t *testing.T) {
	for _, tt := range []struct {
		opts    map[string]string
		want    DriverOptions
		wantErr string
	}{
		{nil, DriverOptions{}, ""},
		{map[string]string{"bridge": "br_lab"}, DriverOptions{Bridge: "br_lab"}, ""},
		{map[string]string{optBridgeName: "br_lab"}, DriverOptions{Bridge: "br_lab"}, ""},
		{map[string]string{"mtu": "1280"}, DriverOptions{MTU: 1280}, ""},
		{map[string]string{optMTU: "9000", "bridge": "x1"}, DriverOptions{Bridge: "x1", MTU: 9000}, ""},
		{map[string]string{"mtu": "67"}, DriverOptions{}, "the MTU is a number in 68-65535"},
		{map[string]string{"mtu": "65536"}, DriverOptions{}, "the MTU is a number"},
		{map[string]string{"mtu": "1500b"}, DriverOptions{}, "the MTU is a number"},
		{map[string]string{"bridge": "this-is-too-long-a-name"}, DriverOptions{}, "for the bridge name"},
		{map[string]string{"bridge": "br-x"}, DriverOptions{}, "for the bridge name"},
		{map[string]string{"bridge": ""}, DriverOptions{}, "for the bridge name"},
		{map[string]string{"mtu": "1400", optMTU: "1400"}, DriverOptions{}, "set the same option"},
		{map[string]string{"com.docker.network.bridge.enable_icc": "true"}, DriverOptions{}, "unknown option"},
	} {
		got, err := ParseOptions(tt.opts)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid)):
			t.Errorf("ParseOptions(%v) = %v, want an invalid option %q", tt.opts, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("ParseOptions(%v) = %+v, %v; want %+v", tt.opts, got, err, tt.want)
		}
	}
}

func TestParseKeyValues(t *testing.T) {
	m, err := ParseKeyValues("--label", []string{"a=1", "b", "c=x=y", " d =e"})
	if err != nil || len(m) != 4 || m["a"] != "1" || m["b"] != "" || m["c"] != "x=y" || m["d"] != "e" {
		t.Errorf("got %v, %v", m, err)
	}
	if _, err := ParseKeyValues("-o", []string{"=x"}); err == nil || !strings.Contains(err.Error(), `-o "=x": use KEY=VALUE`) {
		t.Errorf("an empty key: %v", err)
	}
	if m, err := ParseKeyValues("-o", nil); m != nil || err != nil {
		t.Errorf("no flags: %v, %v", m, err)
	}
}

// FuzzParseOptions: -o and --label come from the command line; whatever
// they say, parsing never panics, and what it accepts is a valid bridge
// name and MTU.
func FuzzParseOptions(f *testing.F) {
	for _, s := range []string{"bridge=br0", "mtu=1500", "com.docker.network.driver.mtu=9000", "=", "mtu=-1", "bridge=\x00"} {
		f.Add(s, "mtu=1400")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		m, err := ParseKeyValues("-o", []string{a, b})
		if err != nil {
			return
		}
		d, err := ParseOptions(m)
		if err != nil {
			return
		}
		if d.Bridge != "" && !validBridge.MatchString(d.Bridge) {
			t.Fatalf("accepted bridge %q", d.Bridge)
		}
		if d.MTU != 0 && (d.MTU < minMTU || d.MTU > maxMTU) {
			t.Fatalf("accepted mtu %d", d.MTU)
		}
	})
}

func TestNextPoolSubnetSkipsWhatIsTakenAndEnds(t *testing.T) {
	pfx := netip.MustParsePrefix
	for _, tt := range []struct {
		from  netip.Prefix
		taken []netip.Prefix
		want  string
	}{
		{netip.Prefix{}, nil, "10.91.0.0/24"},
		{netip.Prefix{}, []netip.Prefix{pfx("10.91.0.0/24"), pfx("10.91.1.0/25")}, "10.91.2.0/24"},
		{netip.Prefix{}, []netip.Prefix{pfx("10.91.0.0/16")}, "10.92.0.0/24"},
		{netip.Prefix{}, []netip.Prefix{pfx("10.0.0.0/8")}, ""}, // a route over the whole pool
		{netip.Prefix{}, []netip.Prefix{pfx("10.91.0.0/23")}, "10.91.2.0/24"},
		{pfx("10.91.0.0/24"), nil, "10.91.1.0/24"},   // the next after a failed try
		{pfx("10.91.255.0/24"), nil, "10.92.0.0/24"}, // across a /16
		{pfx("10.99.255.0/24"), nil, ""},             // the end of the pool
		{netip.Prefix{}, []netip.Prefix{pfx("10.90.0.0/24"), pfx("192.168.1.0/24")}, "10.91.0.0/24"},
	} {
		got, ok := nextPoolSubnet(tt.from, tt.taken)
		if (tt.want == "") == ok || (ok && got.String() != tt.want) {
			t.Errorf("nextPoolSubnet(%v, %v) = %v, %v; want %q", tt.from, tt.taken, got, ok, tt.want)
		}
	}
}

func TestOpenChecksTheGatewayAndMTU(t *testing.T) {
	base := Config{Root: "/r", State: "/s", Bridge: "b0", Subnet: "10.91.4.0/24"}
	for _, tt := range []struct {
		gw      string
		mtu     int
		want    string
		wantErr string
	}{
		{"", 0, "10.91.4.1", ""},
		{"10.91.4.254", 0, "10.91.4.254", ""},
		{"10.91.4.0", 0, "", "not a host address of the subnet"},
		{"10.91.4.255", 0, "", "not a host address of the subnet"},
		{"10.91.5.1", 0, "", "not a host address of the subnet 10.91.4.0/24"},
		{"fd00::1", 0, "", "is not an IPv4 address"},
		{"", 67, "", "mtu 67: use 68-65535"},
	} {
		c := base
		c.Gateway, c.MTU = tt.gw, tt.mtu
		n, err := Open(c)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("gateway %q mtu %d: %v, want %q", tt.gw, tt.mtu, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || n.Gateway().String() != tt.want):
			t.Errorf("gateway %q: %v, %v; want %s", tt.gw, n, err, tt.want)
		}
	}
}

func TestVethNamesAreDistinctPerInterfaceAndFitIFNAMSIZ(t *testing.T) {
	id := strings.Repeat("ab", 32)
	seen := map[string]bool{}
	for i := range MaxInterfaces {
		v := vethName(id, i)
		if len(v) > 15 || seen[v] || !isVethOf(v, id) {
			t.Errorf("veth of eth%d: %q (len %d, seen %v)", i, v, len(v), seen[v])
		}
		seen[v] = true
	}
	if vethName(id, 0) != "ve"+id[:13] {
		t.Errorf("eth0's veth is %q, want today's ve<13 ID characters>", vethName(id, 0))
	}
	if isVethOf("ve"+strings.Repeat("cd", 7)[:13], id) {
		t.Error("another container's veth taken for this one's")
	}
}
