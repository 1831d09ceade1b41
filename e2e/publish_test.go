package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// freeRange is n consecutive ports that nothing on the host uses for
// tcp and udp right now (below the kernel's ephemeral range, so a port
// the kernel hands out meanwhile does not land in it).
func freeRange(t *testing.T, n int) int {
	t.Helper()
	b := make([]byte, 2)
	for range 50 {
		rand.Read(b)
		base := 20000 + int(b[0])<<5 + int(b[1])%32 // 20000-28191
		if rangeFree(base, n) {
			return base
		}
	}
	t.Skip("no free range of ports")
	return 0
}

func rangeFree(base, n int) bool {
	for p := base; p < base+n; p++ {
		l, err := net.Listen("tcp4", ":"+strconv.Itoa(p))
		if err != nil {
			return false
		}
		l.Close()
		u, err := net.ListenPacket("udp4", ":"+strconv.Itoa(p))
		if err != nil {
			return false
		}
		u.Close()
	}
	return true
}

// dialLine connects to addr (retrying while the server starts) and
// returns the first line it says.
func dialLine(addr string) (string, error) {
	var err error
	for range 100 {
		var c net.Conn
		if c, err = net.DialTimeout("tcp4", addr, 2*time.Second); err == nil {
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 64)
			n, rerr := c.Read(buf)
			c.Close()
			if n > 0 {
				return strings.TrimSpace(string(buf[:n])), nil
			}
			err = rerr
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", err
}

func TestPublishPortRangesAnswerOnEveryPortAndShowAsDockerDoes(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.loadBusybox()
	base := freeRange(t, 7)
	// Host base+1..base+3 -> container 7000-7002; each answers its own
	// port. Host range base+4..base+6 for container port 80, base+4 taken
	// by a program of the host: edgerun picks base+5.
	busy, err := net.Listen("tcp4", ":"+strconv.Itoa(base+4))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	serve := "for p in 7000 7001 7002 80; do nc -ll -p $p -e echo $p & done; echo ready; wait"
	b := n.start("run", "--rm", "--network", "bridge", "--name", "ranges",
		"-p", fmt.Sprintf("%d-%d:7000-7002", base+1, base+3), "-p", fmt.Sprintf("%d-%d:80", base+4, base+6),
		"busybox", "sh", "-c", serve)
	b.waitLine(t, "ready")
	for _, host := range []string{"127.0.0.1", hostAddress(t)} {
		for i, want := range []string{"7000", "7001", "7002"} {
			addr := net.JoinHostPort(host, strconv.Itoa(base+1+i))
			if got, err := dialLine(addr); got != want {
				t.Errorf("%s: %q, %v; want %s", addr, got, err, want)
			}
		}
		addr := net.JoinHostPort(host, strconv.Itoa(base+5))
		if got, err := dialLine(addr); got != "80" {
			t.Errorf("%s (the free port of the host range): %q, %v; want 80", addr, got, err)
		}
	}
	ps := n.must("ps", "--format", "{{.Ports}}")
	if want := fmt.Sprintf("0.0.0.0:%d-%d->7000-7002/tcp, 0.0.0.0:%d->80/tcp", base+1, base+3, base+5); strings.TrimSpace(ps) != want {
		t.Errorf("ps PORTS %q, want %q", strings.TrimSpace(ps), want)
	}
	wantPort := fmt.Sprintf("7000/tcp -> 0.0.0.0:%d\n7001/tcp -> 0.0.0.0:%d\n7002/tcp -> 0.0.0.0:%d\n80/tcp -> 0.0.0.0:%d\n", base+1, base+2, base+3, base+5)
	if got := n.must("port", "ranges"); got != wantPort {
		t.Errorf("port:\n%s\nwant:\n%s", got, wantPort)
	}
	var docs []struct {
		HostConfig struct {
			PortBindings map[string][]struct{ HostIp, HostPort string }
		}
		NetworkSettings struct {
			Ports map[string][]struct{ HostIp, HostPort string }
		}
	}
	if err := json.Unmarshal([]byte(n.must("inspect", "ranges")), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("inspect: %v", err)
	}
	if got := docs[0].HostConfig.PortBindings["80/tcp"]; len(got) != 1 || got[0].HostPort != fmt.Sprintf("%d-%d", base+4, base+6) {
		t.Errorf("inspect PortBindings 80/tcp %+v, want docker's host range %d-%d", got, base+4, base+6)
	}
	if got := docs[0].NetworkSettings.Ports["7001/tcp"]; len(got) != 1 || got[0].HostPort != strconv.Itoa(base+2) {
		t.Errorf("inspect Ports 7001/tcp %+v, want host port %d", got, base+2)
	}
	// A range whose second port the first container holds is refused
	// whole, and leaves nothing (the cleanup checks leases, veths, rules).
	r := n.run("run", "--rm", "--network", "bridge", "-p", fmt.Sprintf("%d-%d:9000-9001/tcp", base, base+1), "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, fmt.Sprintf("host port %d/tcp is already published", base+1)) {
		t.Errorf("a range over a published port: %s", r)
	}
	// Without host ports each container port gets its own.
	r = n.run("run", "--rm", "--network", "bridge", "-d", "--name", "picked", "-p", "127.0.0.1::7000-7002", "busybox", "sleep", "60")
	if r.code != 0 {
		t.Fatalf("-p 127.0.0.1::7000-7002: %s", r)
	}
	lines := strings.Split(strings.TrimSpace(n.must("port", "picked")), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "7000/tcp -> 127.0.0.1:") || !strings.HasPrefix(lines[2], "7002/tcp -> 127.0.0.1:") {
		t.Errorf("port picked: %q", lines)
	}
	n.must("rm", "-f", "ranges", "picked")
	b.wait(t)
}

func TestUDPPublishedPortEchoesOnLocalhostAndTheHostAddress(t *testing.T) {
	t.Parallel()
	n := newNetEnv(t)
	n.must("load", "-i", imagePath(t, "sensor"))
	port := freeRange(t, 1)
	if r := n.run("run", "-d", "--network", "bridge", "--name", "echo", "-p", fmt.Sprintf("%d:8081/udp", port), "sensor", "udp-echo", ":8081"); r.code != 0 {
		t.Fatalf("run udp-echo: %s", r)
	}
	for _, host := range []string{"127.0.0.1", hostAddress(t)} {
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		msg := "datagram to " + addr
		if got, err := udpRoundTrip(addr, msg); got != msg {
			t.Errorf("UDP %s: %q, %v; want the echo %q\nlogs: %s", addr, got, err, msg, n.run("logs", "echo"))
		}
	}
	if ps := n.must("ps", "--format", "{{.Ports}}"); strings.TrimSpace(ps) != fmt.Sprintf("0.0.0.0:%d->8081/udp", port) {
		t.Errorf("ps PORTS %q", ps)
	}
	n.must("rm", "-f", "echo")
}

// udpRoundTrip sends msg to addr until an answer comes (the server may
// not listen yet; datagrams may be lost) and returns the answer.
func udpRoundTrip(addr, msg string) (string, error) {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	buf := make([]byte, 512)
	for range 50 {
		_ = c.SetDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err = c.Write([]byte(msg)); err == nil {
			var k int
			if k, err = c.Read(buf); err == nil {
				return string(buf[:k]), nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", err
}
