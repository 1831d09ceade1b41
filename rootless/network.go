package rootless

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The session's link to the host: slirp4netns in the session's network
// namespace, as tap0 with its default addresses. Containers sit on a
// bridge in that namespace (package netns, as for root) and reach the
// host's network through tap0's NAT; the host's loopback is 10.0.2.2.
// slirp4netns rather than pasta: its API socket adds and removes host port
// forwards while it runs, which a daemonless runtime needs as containers
// come and go (pasta fixes its forwards when it starts).
const (
	TapName   = "tap0"
	TapAddr   = "10.0.2.100"
	HostAlias = "10.0.2.2" // the host's loopback, seen from the session
	DNSAddr   = "10.0.2.3" // slirp4netns's DNS forwarder
	tapMTU    = 65520
)

// NetNSPath is the session's network namespace, where the rootless bridge
// lives.
func (s *Session) NetNSPath() string { return "/proc/" + strconv.Itoa(s.Pid) + "/ns/net" }

// startNetwork starts slirp4netns for the session and waits until tap0 is
// configured. A missing slirp4netns is not fatal: --network none and host
// still work, and the bridge network says what to install.
func startNetwork(s *Session) error {
	path, err := exec.LookPath("slirp4netns")
	if err != nil {
		return errors.New("slirp4netns is not installed, so rootless containers have no network of their own (--network none and host work): apt install slirp4netns")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	api := filepath.Join(s.Dir, "slirp4netns.sock")
	_ = os.Remove(api)
	pidS := strconv.Itoa(s.Pid)
	cmd := exec.Command(path, "--configure", "--mtu="+strconv.Itoa(tapMTU), "--enable-seccomp",
		"--ready-fd=3", "--api-socket="+api,
		"--userns-path=/proc/"+pidS+"/ns/user", "--netns-type=path", "/proc/"+pidS+"/ns/net", TapName)
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Dir = "/"
	logf, err := os.OpenFile(filepath.Join(s.Dir, "slirp4netns.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err == nil {
		cmd.Stdout, cmd.Stderr = logf, logf
		defer logf.Close()
	}
	if alive(s.Network, s.NetworkStart) {
		_ = unix.Kill(s.Network, unix.SIGTERM) // a stale one of this namespace
	}
	s.Network, s.NetworkStart, s.NetworkAPI = 0, 0, ""
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start slirp4netns: %w", err)
	}
	w.Close()
	ready := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		_, err := r.Read(b)
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(10 * time.Second):
		err = errors.New("no answer in 10 s")
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		log, _ := os.ReadFile(filepath.Join(s.Dir, "slirp4netns.log"))
		return fmt.Errorf("slirp4netns did not start (%w): %s", err, strings.TrimSpace(string(log)))
	}
	s.Network, s.NetworkStart, s.NetworkAPI = cmd.Process.Pid, procStart(cmd.Process.Pid), api
	_ = cmd.Process.Release()
	return nil
}
