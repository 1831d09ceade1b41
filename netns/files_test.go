package netns

import (
	"net/netip"
	"strings"
	"testing"
)

func TestResolvConf(t *testing.T) {
	cases := []struct {
		name      string
		host      string
		opts      ResolvOptions
		want      string
		wantNotes int
	}{
		{"keeps real servers and search", "# c\nnameserver 10.1.1.1\nsearch lan example.com\noptions ndots:2\n", ResolvOptions{},
			"nameserver 10.1.1.1\nsearch lan example.com\noptions ndots:2\n", 0},
		{"drops loopback", "nameserver 127.0.0.53\nnameserver 192.0.2.1\n", ResolvOptions{},
			"nameserver 192.0.2.1\n", 1},
		{"only loopback falls back", "nameserver 127.0.0.53\nnameserver ::1\n", ResolvOptions{},
			"nameserver 8.8.8.8\nnameserver 8.8.4.4\n", 3},
		{"rootless forwards loopback through slirp4netns", "nameserver 127.0.0.53\nnameserver 192.0.2.1\nnameserver ::1\n",
			ResolvOptions{LoopbackVia: "10.0.2.3"}, "nameserver 10.0.2.3\nnameserver 192.0.2.1\n", 0},
		{"host network keeps loopback", "nameserver 127.0.0.53\n", ResolvOptions{KeepLoopback: true},
			"nameserver 127.0.0.53\n", 0},
		{"--dns and --dns-search replace", "nameserver 192.0.2.1\nsearch lan\n", ResolvOptions{DNS: []string{"192.0.2.9"}, Search: []string{"corp"}},
			"nameserver 192.0.2.9\nsearch corp\n", 0},
		{"garbage lines ignored", "nameserver\nnameserver notanip\nfoo bar\n", ResolvOptions{DNS: []string{"::2"}},
			"nameserver ::2\n", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, notes, err := ResolvConf([]byte(tc.host), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			if len(notes) != tc.wantNotes {
				t.Errorf("notes %q, want %d", notes, tc.wantNotes)
			}
		})
	}
	if _, _, err := ResolvConf(nil, ResolvOptions{DNS: []string{"dns.example"}}); err == nil {
		t.Error("--dns with a host name was accepted")
	}
}

func TestHostsNamesTheContainer(t *testing.T) {
	got := string(Hosts("web", []netip.Addr{netip.MustParseAddr("10.99.0.2")},
		[]HostEntry{{"db", netip.MustParseAddr("192.0.2.5")}}))
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "10.99.0.2\tweb\n", "192.0.2.5\tdb\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("hosts lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "127.0.1.1") {
		t.Error("127.0.1.1 line written although the container has an address")
	}
	if got := string(Hosts("solo", nil, nil)); !strings.Contains(got, "127.0.1.1\tsolo\n") {
		t.Errorf("no-address hosts lacks the 127.0.1.1 line:\n%s", got)
	}
}

func TestParseAddHost(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want string
	}{
		{"db:192.0.2.5", true, "192.0.2.5"},
		{"v6:[2001:db8::1]", true, "2001:db8::1"},
		{"v6:2001:db8::1", true, "2001:db8::1"},
		{"nohost", false, ""},
		{":1.2.3.4", false, ""},
		{"db:notip", false, ""},
		{"a b:1.2.3.4", false, ""},
		{"host.docker.internal:host-gateway", true, "10.90.0.1"},
	} {
		e, err := ParseAddHost(tc.in, netip.MustParseAddr("10.90.0.1"))
		if (err == nil) != tc.ok {
			t.Errorf("ParseAddHost(%q) err = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && e.IP.String() != tc.want {
			t.Errorf("ParseAddHost(%q) = %s, want %s", tc.in, e.IP, tc.want)
		}
	}
	if _, err := ParseAddHost("h:host-gateway", netip.Addr{}); err == nil || !strings.Contains(err.Error(), "no address that reaches the host") {
		t.Errorf("host-gateway without a gateway: err = %v, want a refusal", err)
	}
}

func TestAppendHostsKeepsHostLines(t *testing.T) {
	got := string(AppendHosts([]byte("127.0.0.1 localhost\n10.0.0.1 gw"), []HostEntry{{"db", netip.MustParseAddr("192.0.2.5")}}))
	want := "127.0.0.1 localhost\n10.0.0.1 gw\n192.0.2.5\tdb\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
