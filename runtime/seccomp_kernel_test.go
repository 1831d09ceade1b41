//go:build linux && cgo && seccomp

package runtime

import (
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"golang.org/x/sys/unix"
)

const seccompChildEnv = "EDGERUN_TEST_SECCOMP_CHILD"

// TestDefaultSeccompInKernel loads the default profile through
// libcontainer's own conversion and loader in a child process and checks
// from inside what the filter lets through.
func TestDefaultSeccompInKernel(t *testing.T) {
	if os.Getenv(seccompChildEnv) != "" {
		seccompChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDefaultSeccompInKernel$")
	cmd.Env = append(os.Environ(), seccompChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
	want := []string{
		"socket(AF_ALG)=operation not permitted",
		"socket(AF_ALG|1<<32)=operation not permitted",
		"socket(AF_VSOCK)=operation not permitted",
		"socket(AF_INET)=ok",
		"socket(AF_UNIX)=ok",
		"unshare(CLONE_NEWUSER)=operation not permitted",
		"mount=operation not permitted",
		"personality(query)=ok",
		"personality(0x400000)=operation not permitted",
	}
	for _, w := range want {
		if !strings.Contains(string(out), w+"\n") {
			t.Errorf("child output lacks %q:\n%s", w, out)
		}
	}
}

func seccompChild() {
	goruntime.LockOSThread()
	cfg, err := specconv.SetupSeccomp(DefaultSeccomp(goruntime.GOARCH, defaultCaps()))
	if err == nil {
		_, err = seccomp.InitSeccomp(cfg)
	}
	if err != nil {
		fmt.Println("load:", err)
		os.Exit(2)
	}
	report := func(name string, r1 uintptr, errno unix.Errno) {
		if errno != 0 {
			fmt.Printf("%s=%v\n", name, errno)
			return
		}
		if strings.HasPrefix(name, "socket") {
			unix.Close(int(r1))
		}
		fmt.Printf("%s=ok\n", name)
	}
	sock := func(name string, family uint64, typ int) {
		r1, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), uintptr(typ), 0)
		report(name, r1, e)
	}
	sock("socket(AF_ALG)", unix.AF_ALG, unix.SOCK_SEQPACKET)
	sock("socket(AF_ALG|1<<32)", 1<<32|unix.AF_ALG, unix.SOCK_SEQPACKET)
	sock("socket(AF_VSOCK)", unix.AF_VSOCK, unix.SOCK_STREAM)
	sock("socket(AF_INET)", unix.AF_INET, unix.SOCK_DGRAM)
	sock("socket(AF_UNIX)", unix.AF_UNIX, unix.SOCK_STREAM)
	_, _, e := unix.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWUSER, 0, 0)
	report("unshare(CLONE_NEWUSER)", 0, e)
	_, _, e = unix.RawSyscall6(unix.SYS_MOUNT, 0, 0, 0, 0, 0, 0)
	report("mount", 0, e)
	_, _, e = unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	report("personality(query)", 0, e)
	_, _, e = unix.RawSyscall(unix.SYS_PERSONALITY, 0x400000, 0, 0)
	report("personality(0x400000)", 0, e)
	os.Exit(0)
}
