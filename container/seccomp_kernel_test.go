//go:build linux && cgo && seccomp

package container

import (
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/seccomp"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/specgen"
)

const seccompChildEnv = "EDGERUN_TEST_SECCOMP_CHILD"

// x32SyscallBit marks an x32 syscall number; x32Getpid runs on amd64 only.
const x32SyscallBit = 0x40000000

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
		"socket(AF_VSOCK)=operation not permitted",
		"socket(AF_INET)=ok",
		"socket(AF_UNIX)=ok",
		"socket(AF_INET|1<<32)=ok",
		"socket(64)=address family not supported by protocol",
		"socket(1<<31)=address family not supported by protocol",
		"unshare(CLONE_NEWUSER)=operation not permitted",
		"mount=operation not permitted",
		"personality(query)=ok",
		"personality(0x400000)=operation not permitted",
	}
	if goruntime.GOARCH == "amd64" {
		x32 := ""
		for _, l := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(l, "x32 getpid="); ok {
				x32 = v
			}
		}
		// With x32 in the filter the call runs; without, libseccomp's
		// bad-arch action kills the calling thread (the kernel would
		// answer ENOSYS anyway).
		if ok := specgen.KernelRunsX32(); ok != (x32 == "ok") || x32 == "" {
			t.Errorf("x32 getpid from inside the filter: %q, kernel runs x32: %v", x32, ok)
		}
	}
	// Refused either way: EPERM (not an allowed family) or EAFNOSUPPORT
	// (the 64-bit value is above every family).
	if !strings.Contains(string(out), "socket(AF_ALG|1<<32)=operation not permitted\n") &&
		!strings.Contains(string(out), "socket(AF_ALG|1<<32)=address family not supported by protocol\n") {
		t.Errorf("socket(AF_ALG|1<<32) is not refused:\n%s", out)
	}
	for _, w := range want {
		if !strings.Contains(string(out), w+"\n") {
			t.Errorf("child output lacks %q:\n%s", w, out)
		}
	}
}

func seccompChild() {
	goruntime.LockOSThread()
	// The default profile as a container gets it: generated for this
	// host (x32 kept only when the kernel runs it).
	s, err := specgen.GenerateSpec(ocispec.ImageConfig{Cmd: []string{"true"}},
		&specgen.SpecOptions{ID: "seccomp-kernel-test", Rootfs: os.TempDir()})
	var cfg *configs.Seccomp
	if err == nil {
		cfg, err = specconv.SetupSeccomp(s.Linux.Seccomp)
	}
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
	sock("socket(AF_INET|1<<32)", 1<<32|unix.AF_INET, unix.SOCK_DGRAM)
	sock("socket(64)", 64, unix.SOCK_STREAM)
	sock("socket(1<<31)", 1<<31, unix.SOCK_STREAM)
	_, _, e := unix.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWUSER, 0, 0)
	report("unshare(CLONE_NEWUSER)", 0, e)
	_, _, e = unix.RawSyscall6(unix.SYS_MOUNT, 0, 0, 0, 0, 0, 0)
	report("mount", 0, e)
	_, _, e = unix.RawSyscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	report("personality(query)", 0, e)
	_, _, e = unix.RawSyscall(unix.SYS_PERSONALITY, 0x400000, 0, 0)
	report("personality(0x400000)", 0, e)
	if goruntime.GOARCH == "amd64" {
		fmt.Printf("x32 getpid=%s\n", x32Getpid())
	}
	os.Exit(0)
}

// x32Getpid makes an x32 getpid on this (filtered, locked) thread, which
// the filter may kill: a watcher on another thread then sees the thread
// dead (gone, or a zombie if it led the thread group), says so and exits.
func x32Getpid() string {
	stat := fmt.Sprintf("/proc/self/task/%d/stat", unix.Gettid())
	go func() {
		for {
			b, err := os.ReadFile(stat)
			if f := strings.Fields(string(b)); err != nil || (len(f) > 2 && (f[2] == "Z" || f[2] == "X")) {
				fmt.Println("x32 getpid=thread killed")
				os.Exit(0)
			}
			goruntime.Gosched()
		}
	}()
	_, _, e := unix.RawSyscall(x32SyscallBit|unix.SYS_GETPID, 0, 0, 0)
	if e != 0 {
		return e.Error()
	}
	return "ok"
}
