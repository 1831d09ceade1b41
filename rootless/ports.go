package rootless

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/edgerun/edgerun/internal/atomicfile"
)

// Port is one published port of the session: the host's HostIP:HostPort
// forwarded by slirp4netns to the same port on tap0, where the bridge's
// DNAT rules (package netns) take it on to the container.
type Port struct {
	Proto    string // tcp or udp
	HostIP   string // "" or 0.0.0.0: every address
	HostPort int
}

func (p Port) hostAddr() string {
	if p.HostIP == "" {
		return "0.0.0.0"
	}
	return p.HostIP
}

// UnprivilegedPortStart is the host's net.ipv4.ip_unprivileged_port_start:
// ordinary users may bind ports from it up.
func UnprivilegedPortStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		return 1024
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 1024
	}
	return n
}

// CheckPort refuses a host port an ordinary user cannot bind.
func CheckPort(port int) error {
	if start := UnprivilegedPortStart(); port < start {
		return fmt.Errorf("host port %d is below net.ipv4.ip_unprivileged_port_start (%d), which only root may bind: "+
			"publish on a host port from %d up, or lower the sysctl as root (sysctl net.ipv4.ip_unprivileged_port_start=%d)",
			port, start, start, port)
	}
	return nil
}

// apiCall sends one request to slirp4netns's API socket and decodes the
// answer into out: its "return" member, or the whole answer when it has
// none (list_hostfwd answers {"entries": [...]}).
func (s *Session) apiCall(req map[string]any, out any) error {
	if s.NetworkAPI == "" {
		return errors.New("the rootless session has no user-mode network (slirp4netns): " + s.NetworkError)
	}
	c, err := net.DialTimeout("unix", s.NetworkAPI, 5*time.Second)
	if err != nil {
		return fmt.Errorf("reach slirp4netns: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return fmt.Errorf("ask slirp4netns: %w", err)
	}
	if uc, ok := c.(*net.UnixConn); ok {
		_ = uc.CloseWrite()
	}
	body, err := io.ReadAll(c)
	if err != nil {
		return fmt.Errorf("read slirp4netns's answer: %w", err)
	}
	var resp struct {
		Return json.RawMessage `json:"return"`
		Error  *struct {
			Desc string `json:"desc"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return fmt.Errorf("read slirp4netns's answer %q: %w", body, err)
	}
	if resp.Error != nil {
		return errors.New(resp.Error.Desc)
	}
	if out == nil {
		return nil
	}
	if len(resp.Return) > 0 {
		body = resp.Return
	}
	return json.Unmarshal(body, out)
}

type Forward struct {
	ID       int    `json:"id"`
	Proto    string `json:"proto"`
	HostAddr string `json:"host_addr"`
	HostPort int    `json:"host_port"`
}

// claimPath is the file that names the owner (an edgerun root) of a
// forward: one session serves every root of its user, and each root
// reclaims only its own forwards.
func (s *Session) claimPath(proto string, port int) string {
	return filepath.Join(s.Dir, "ports", proto+"-"+strconv.Itoa(port))
}

// AddPort forwards the host's port to the session's tap0 for owner (the
// --root of the container that publishes it).
func (s *Session) AddPort(p Port, owner string) error {
	if err := CheckPort(p.HostPort); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(s.Dir, "ports"), 0o700); err != nil {
		return err
	}
	if err := atomicfile.WriteFileVolatile(s.claimPath(p.Proto, p.HostPort), []byte(owner+"\n"), 0o600); err != nil {
		return fmt.Errorf("claim host port %d/%s: %w", p.HostPort, p.Proto, err)
	}
	err := s.apiCall(map[string]any{"execute": "add_hostfwd", "arguments": map[string]any{
		"proto": p.Proto, "host_addr": p.hostAddr(), "host_port": p.HostPort, "guest_addr": TapAddr, "guest_port": p.HostPort,
	}}, nil)
	if err != nil {
		_ = os.Remove(s.claimPath(p.Proto, p.HostPort))
		return fmt.Errorf("publish %s:%d/%s on the host: %w (is the port in use? pick another with -p)", p.hostAddr(), p.HostPort, p.Proto, err)
	}
	return nil
}

// owner is the root that claimed a forward, "" when none did.
func (s *Session) owner(proto string, port int) string {
	b, err := os.ReadFile(s.claimPath(proto, port))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// RemovePort ends the forward of the host's port; a forward that is not
// there is not an error.
func (s *Session) RemovePort(p Port) error {
	fwds, err := s.Ports()
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range fwds {
		if f.Proto == p.Proto && f.HostPort == p.HostPort && f.HostAddr == p.hostAddr() {
			errs = append(errs, s.apiCall(map[string]any{"execute": "remove_hostfwd", "arguments": map[string]any{"id": f.ID}}, nil))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := os.Remove(s.claimPath(p.Proto, p.HostPort)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Ports lists the session's forwards.
func (s *Session) Ports() ([]Forward, error) {
	var out struct {
		Entries []Forward `json:"entries"`
	}
	if err := s.apiCall(map[string]any{"execute": "list_hostfwd"}, &out); err != nil {
		return nil, err
	}
	return out.Entries, nil
}

// Current is the session this process runs in, or nil outside one (or
// when its holder is gone).
func Current() *Session {
	d := os.Getenv(SessionEnv)
	if d == "" {
		return nil
	}
	return Load(d)
}

// ReclaimPorts ends the forwards owner claimed that keep does not want:
// those of its containers that are gone (a killed edgerun). Forwards of
// other roots are never touched, and slirp4netns is asked only when a
// claim is stale, not by every command.
func (s *Session) ReclaimPorts(owner string, keep func(proto string, port int) bool) error {
	ents, err := os.ReadDir(filepath.Join(s.Dir, "ports"))
	if err != nil {
		return nil // no claims
	}
	stale := map[string]bool{}
	for _, e := range ents {
		proto, portS, ok := strings.Cut(e.Name(), "-")
		port, err := strconv.Atoi(portS)
		if !ok || err != nil || s.owner(proto, port) != owner || keep(proto, port) {
			continue
		}
		stale[e.Name()] = true
	}
	if len(stale) == 0 {
		return nil
	}
	fwds, err := s.Ports()
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range fwds {
		if stale[f.Proto+"-"+strconv.Itoa(f.HostPort)] {
			errs = append(errs, s.apiCall(map[string]any{"execute": "remove_hostfwd", "arguments": map[string]any{"id": f.ID}}, nil))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for name := range stale {
		_ = os.Remove(filepath.Join(s.Dir, "ports", name))
	}
	return nil
}
