package terminal

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/console"
	"golang.org/x/sys/unix"
)

// send passes f over the runtime's end of the console socket, as
// libcontainer's init does with the pty master.
func send(t *testing.T, sock *os.File, fd uintptr, name string) {
	t.Helper()
	if err := unix.Sendmsg(int(sock.Fd()), []byte(name), unix.UnixRights(int(fd)), nil, 0); err != nil {
		t.Fatal(err)
	}
}

func TestReceiveGetsTheDescriptorSent(t *testing.T) {
	c, err := Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	send(t, c.Socket(), w.Fd(), "pipe")
	got, err := Receive(c.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if _, err := got.WriteString("through"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, _ := r.Read(buf)
	if string(buf[:n]) != "through" {
		t.Fatalf("read %q from the pipe, want what was written to the received descriptor", buf[:n])
	}
}

func TestAttachRelaysThePtyToStdout(t *testing.T) {
	pty, slave, err := console.NewPty()
	if err != nil {
		t.Skipf("no pty on this host: %v", err)
	}
	defer pty.Close()
	c, err := Open(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := c.Size(); ok {
		t.Error("Size reported a caller's terminal, but stdin was none")
	}
	send(t, c.Socket(), pty.Fd(), slave)
	var out syncBuffer
	if err := c.Attach(&out, nil); err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(slave, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteString("hello from the container\n"); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200 && !strings.Contains(out.String(), "hello from the container"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	s.Close()
	c.Close()
	if !strings.Contains(out.String(), "hello from the container") {
		t.Fatalf("stdout got %q", out.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the copying goroutine and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestForwardSignalsPassesSignalsAndResizesOnWINCH(t *testing.T) {
	got := make(chan os.Signal, 4)
	resized := make(chan struct{}, 4)
	stop := ForwardSignals(func(s os.Signal) error { got <- s; return nil }, func() { resized <- struct{}{} })
	defer stop()
	for _, sig := range []unix.Signal{unix.SIGUSR1, unix.SIGWINCH} {
		if err := unix.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case s := <-got:
		if s != unix.SIGUSR1 {
			t.Fatalf("forwarded %v, want SIGUSR1", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SIGUSR1 was not forwarded")
	}
	select {
	case <-resized:
	case <-time.After(5 * time.Second):
		t.Fatal("SIGWINCH did not resize")
	}
	if len(got) != 0 {
		t.Fatalf("SIGWINCH was forwarded too: %v", <-got)
	}
}
