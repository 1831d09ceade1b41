package containerinit

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary plays the init when started with this variable set.
const asInit = "EDGERUN_TEST_AS_INIT"

func TestMain(m *testing.M) {
	if os.Getenv(asInit) == "1" {
		os.Exit(Main(os.Args[1:], os.Stderr))
	}
	os.Exit(m.Run())
}

func initCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("needs sh")
	}
	cmd := exec.Command(os.Args[0], append([]string{"--"}, args...)...)
	cmd.Env = append(os.Environ(), asInit+"=1")
	return cmd
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	ee, ok := err.(*exec.ExitError)
	if !ok {
		t.Fatalf("run: %v", err)
	}
	return ee.ExitCode()
}

func TestInitReturnsCommandExitCode(t *testing.T) {
	cases := []struct {
		args []string
		want int
	}{
		{[]string{"sh", "-c", "exit 0"}, 0},
		{[]string{"sh", "-c", "exit 5"}, 5},
		{[]string{"sh", "-c", "kill -KILL $$"}, 137},
		{[]string{"/nonexistent/cmd"}, 127},
	}
	for _, tc := range cases {
		err := initCmd(t, tc.args...).Run()
		if got := exitCode(t, err); got != tc.want {
			t.Errorf("%v: exit %d, want %d", tc.args, got, tc.want)
		}
	}
}

func TestInitForwardsSignals(t *testing.T) {
	cmd := initCmd(t, "sh", "-c", `trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done`)
	var out bytes.Buffer
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := stdout.Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("child did not start: %q %v", buf, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := out.ReadFrom(stdout); err != nil {
			t.Errorf("read the output: %v", err)
		}
	}()
	<-done // all output read before Wait closes the pipe
	err := cmd.Wait()
	if got := exitCode(t, err); got != 7 || !strings.Contains(out.String(), "got-term") {
		t.Fatalf("exit %d, output %q; want 7 and got-term", got, out.String())
	}
}

func TestInitReapsOrphans(t *testing.T) {
	// The subshell starts a sleep and exits, orphaning it: it is re-parented
	// to the init (a subreaper), which must reap it while the command still
	// runs, not leave a zombie.
	cmd := initCmd(t, "sh", "-c", `(sleep 0.1 & echo $!); sleep 6`)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		// Best effort: the command sleeps on after the test has its answer.
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // "signal: killed"
	}()
	line := make([]byte, 32)
	n, err := stdout.Read(line)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(line[:n]))
	stat := "/proc/" + pid + "/stat"
	// The orphan ends after 0.1 s; the command runs on for 6 s, so only
	// the init can have reaped it. The wait is generous for loaded machines.
	deadline := time.Now().Add(4 * time.Second)
	for {
		b, err := os.ReadFile(stat)
		if err != nil {
			return // reaped
		}
		if time.Now().After(deadline) {
			if strings.Contains(string(b), ") Z ") {
				t.Fatalf("orphan %s left as a zombie", pid)
			}
			t.Fatalf("orphan %s still running after 4 s", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
