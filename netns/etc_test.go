package netns

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestPlanPortsAddsExposedPortsOnceInOrder(t *testing.T) {
	ports, err := PlanPorts([]string{"8080:80"}, true, []string{"53/udp", "80/tcp", "443"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ports {
		got = append(got, p.Proto+"/"+strconv.Itoa(int(p.ContainerPort)))
	}
	// 80/tcp is published already; the others follow sorted ("443" < "53/udp").
	if want := "tcp/80 tcp/443 udp/53"; strings.Join(got, " ") != want {
		t.Fatalf("ports %v, want %s", got, want)
	}
	if ports, err := PlanPorts(nil, false, []string{"80"}); err != nil || len(ports) != 0 {
		t.Fatalf("without -P the exposed ports were published: %v, %v", ports, err)
	}
	if _, err := PlanPorts([]string{"80:80/sctp"}, false, nil); err == nil {
		t.Fatal("a bad -p was accepted")
	}
}

func TestRewritePeersReplacesOnlyThePeersSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts")
	base := "127.0.0.1\tlocalhost\n10.0.0.2\tme\n"
	if err := os.WriteFile(path, []byte(base+PeersSection("br0", []Peer{{IP: netip.MustParseAddr("10.0.0.9"), Name: "old", ID: "ffffffffffffffff"}})), 0o644); err != nil {
		t.Fatal(err)
	}
	section := PeersSection("br0", []Peer{
		{IP: netip.MustParseAddr("10.0.0.2"), Name: "me", ID: "0123456789abcdef0123"},
		{IP: netip.MustParseAddr("10.0.0.3"), Name: "db", ID: "abcdef", Aliases: []string{"database", "pg"}},
	}) + PeersSection("er_1 (network back)", []Peer{{IP: netip.MustParseAddr("10.1.0.2"), Name: "me", ID: "0123456789abcdef0123"}})
	if err := RewritePeers(path, section); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := base + "# edgerun: containers on bridge br0\n10.0.0.2\tme 0123456789ab\n10.0.0.3\tdb abcdef database pg\n" +
		"# edgerun: containers on bridge er_1 (network back)\n10.1.0.2\tme 0123456789ab\n"
	if string(b) != want {
		t.Fatalf("hosts:\n%s\nwant:\n%s", b, want)
	}
	if err := RewritePeers(filepath.Join(t.TempDir(), "gone"), section); err != nil {
		t.Fatalf("a missing hosts file (container removed meanwhile): %v", err)
	}
	// Fewer peers: the file is cut to its new length.
	short := PeersSection("br0", []Peer{{IP: netip.MustParseAddr("10.0.0.2"), Name: "me", ID: "0123456789abcdef0123"}})
	if err := RewritePeers(path, short); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != base+short {
		t.Fatalf("after a shorter section:\n%q\nwant:\n%q", b, base+short)
	}
	// Torn by a power cut (the length reached the disk, the section's
	// data did not): the next rewrite makes it whole, the base intact.
	for cut := 0; cut < len(short); cut += 7 {
		torn := append([]byte(base+short[:cut]), make([]byte, 300)...)
		if err := os.WriteFile(path, torn, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := RewritePeers(path, short); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != base+short {
			t.Fatalf("a peers section torn after %d bytes, rewritten:\n%q\nwant:\n%q", cut, b, base+short)
		}
	}
}

func TestEtcFilesNameTheContainerAndRefuseBadAddHost(t *testing.T) {
	files, _, err := EtcFiles(EtcOptions{Hostname: "probe", Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.5")},
		AddHosts: []string{"db:10.0.0.7"}, Resolv: ResolvOptions{DNS: []string{"10.0.0.1"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Name] = string(f.Data)
	}
	if got["hostname"] != "probe\n" || !strings.Contains(got["hosts"], "10.0.0.5\tprobe") ||
		!strings.Contains(got["hosts"], "10.0.0.7\tdb") || !strings.Contains(got["resolv.conf"], "nameserver 10.0.0.1") {
		t.Fatalf("files: %q", got)
	}
	if _, _, err := EtcFiles(EtcOptions{Hostname: "x", AddHosts: []string{"db"}}); err == nil {
		t.Fatal("--add-host without an address was accepted")
	}
}
