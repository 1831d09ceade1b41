package e2e

import (
	"bufio"
	"context"
	"strings"
	"syscall"
	"testing"

	"github.com/edgerun/edgerun/internal/testenv"
)

// With -t the container gets a terminal of the caller's size, and a
// SIGWINCH to edgerun passes the new size on.
func TestRunTTYGetsATerminalAndItsResizes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	master, tty := testenv.OpenPty(t)
	testenv.SetPtySize(t, tty, 33, 101)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := e.command(ctx, "run", "--rm", "-t", "busybox", "sh", "-c",
		`trap 'echo size $(stty size); exit 5' WINCH; test -t 0 && test -t 1 && echo is-a-tty; echo size $(stty size); echo ready; while true; do sleep 0.1; done`)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	stop := e.watchIDs()
	defer stop()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// When edgerun ends (or is killed at cmdTimeout), closing our side of
	// the terminal ends the reader below, so no loop can hang.
	waited := make(chan error, 1)
	go func() { err := cmd.Wait(); tty.Close(); waited <- err }()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			lines <- strings.TrimSpace(sc.Text())
		}
		close(lines)
	}()
	seen := map[string]bool{}
	for l := range lines {
		seen[l] = true
		if l == "ready" {
			break
		}
	}
	if !seen["is-a-tty"] || !seen["size 33 101"] {
		t.Errorf("-t: want a terminal of 33x101 inside, saw %v", seen)
	}
	testenv.SetPtySize(t, master, 40, 120)
	if err := cmd.Process.Signal(syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	resized := false
	for l := range lines {
		if l == "size 40 120" {
			resized = true
			break
		}
	}
	err := <-waited
	if !resized {
		t.Errorf("after a resize and SIGWINCH the container did not see 40x120 (edgerun: %v)", err)
	}
	if code := exitCode(t, err); code != 5 {
		t.Errorf("exit %d, want 5 from the WINCH trap", code)
	}
}
