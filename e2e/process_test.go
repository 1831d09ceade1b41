package e2e

import (
	"github.com/edgerun/edgerun/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunSetsEnvironmentFromFlagsFileAndImage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("# comment\nFROM_FILE=file value\nBOTH=from-file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := e.must("run", "--rm", "-e", "FROM_FLAG=flag", "--env-file", envFile, "-e", "BOTH=from-flag",
		"busybox", "env")
	for _, want := range []string{
		"FROM_FLAG=flag", "FROM_FILE=file value", "BOTH=from-flag",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", // the image's
		"HOME=/root",
	} {
		if !containsLine(out, want) {
			t.Errorf("env lacks %q:\n%s", want, out)
		}
	}
}

func TestRunUser(t *testing.T) {
	testenv.SkipSingleID(t, "it switches to users other than root (TestRootlessUserOtherThanRootNeedsSubordinateIDs checks the refusal)")
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	for _, tc := range []struct {
		user, want string
	}{
		{"", "0 0"},
		{"nobody", "65534 65534"},  // name from the image's /etc/passwd
		{"1000:1000", "1000 1000"}, // numeric, not in passwd
		{"nobody:0", "65534 0"},    // name and numeric group
		{"65534", "65534 65534"},   // numeric uid found in passwd gets its group
		{"root:nobody", "0 65534"}, // group name from the image's /etc/group
	} {
		t.Run("user="+tc.user, func(t *testing.T) {
			args := []string{"run", "--rm"}
			if tc.user != "" {
				args = append(args, "-u", tc.user)
			}
			out := e.must(append(args, "busybox", "sh", "-c", "echo $(id -u) $(id -g)")...)
			if got := strings.TrimSpace(out); got != tc.want {
				t.Errorf("-u %q: uid gid = %q, want %q", tc.user, got, tc.want)
			}
		})
	}
	t.Run("unknown user name is refused", func(t *testing.T) {
		r := e.run("run", "--rm", "-u", "nosuchuser", "busybox", "true")
		if r.code != 125 || !strings.Contains(r.stderr, "nosuchuser") {
			t.Errorf("want 125 naming the user, got %s", r)
		}
	})
}

func TestRunWorkdir(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	if out := e.must("run", "--rm", "-w", "/etc", "busybox", "pwd"); strings.TrimSpace(out) != "/etc" {
		t.Errorf("-w /etc: pwd = %q", out)
	}
	// A missing working directory is created, like docker does.
	if out := e.must("run", "--rm", "-w", "/new/dir", "busybox", "pwd"); strings.TrimSpace(out) != "/new/dir" {
		t.Errorf("-w /new/dir: pwd = %q", out)
	}
}

func TestRunRefusesWorkdirThroughProcFd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	for _, wd := range []string{"/proc/self/fd/7", "/proc/1/cwd", "relative/dir"} {
		r := e.run("run", "--rm", "-w", wd, "busybox", "pwd")
		if r.code != 125 {
			t.Errorf("-w %s: want refusal with 125, got %s", wd, r)
		}
	}
}

func TestReadOnlyRootRefusesWritesButTmpfsIsWritable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	r := e.run("run", "--rm", "--read-only", "--tmpfs", "/scratch", "busybox", "sh", "-c",
		`if touch /etc/x 2>/dev/null; then echo root-writable; fi; echo ok > /scratch/f && cat /scratch/f; echo ok2 > /tmp/y 2>/dev/null || echo tmp-readonly`)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	if strings.Contains(r.stdout, "root-writable") {
		t.Errorf("--read-only root file system accepted a write:\n%s", r.stdout)
	}
	if !containsLine(r.stdout, "ok") {
		t.Errorf("--tmpfs /scratch is not writable:\n%s\n%s", r.stdout, r.stderr)
	}
	if !containsLine(r.stdout, "tmp-readonly") {
		t.Errorf("/tmp (not a --tmpfs) was writable under --read-only:\n%s", r.stdout)
	}
}

func containsLine(out, want string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == want {
			return true
		}
	}
	return false
}
