// Command probe tries, from inside a container, the things a confined
// container must not be able to do, and prints one line per attempt:
// "NAME ok" when it succeeded, "NAME ERRNO-TEXT" when it failed.
//
// Usage: probe MAJOR:MINOR (a host block device to mknod and open)
//
//	probe exe-attack SECONDS (CVE-2019-5736, see exeattack.go)
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "exe-attack" {
		secs, _ := strconv.Atoi(os.Args[2])
		exeAttack(secs)
		return
	}
	major, minor := uint32(8), uint32(0)
	if len(os.Args) > 1 {
		if a, b, ok := strings.Cut(os.Args[1], ":"); ok {
			ma, _ := strconv.Atoi(a)
			mi, _ := strconv.Atoi(b)
			major, minor = uint32(ma), uint32(mi)
		}
	}
	report("mount", unix.Mount("x", "/mnt", "tmpfs", 0, ""))
	report("finit_module", finitModule())
	report("init_module", unix.InitModule([]byte("\x7fELF"), ""))
	report("socket_af_alg", socket(unix.AF_ALG, unix.SOCK_SEQPACKET))
	report("socket_af_vsock", socket(unix.AF_VSOCK, unix.SOCK_STREAM))
	report("unshare_user", unix.Unshare(unix.CLONE_NEWUSER))
	report("sysrq_trigger", writeFile("/proc/sysrq-trigger", "h"))
	report("raw_block_open", openBlock(major, minor))
	report("keyctl", keyctl())
}

func report(name string, err error) {
	if err == nil {
		fmt.Println(name, "ok")
		return
	}
	fmt.Println(name, err.Error())
}

func finitModule() error {
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.FinitModule(int(f.Fd()), "", 0)
}

func socket(family, typ int) error {
	fd, err := unix.Socket(family, typ, 0)
	if err == nil {
		unix.Close(fd)
	}
	return err
}

func writeFile(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(data)
	return err
}

// openBlock makes a node for the host's block device and reads from it:
// the mknod may be allowed (CAP_MKNOD is a default capability), the open
// must not be (the device cgroup).
func openBlock(major, minor uint32) error {
	path := "/tmp/probe-rawdev"
	_ = os.Remove(path)
	if err := unix.Mknod(path, unix.S_IFBLK|0o600, int(unix.Mkdev(major, minor))); err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	defer os.Remove(path)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	var b [512]byte
	if _, err := f.Read(b[:]); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return nil
}

func keyctl() error {
	_, err := unix.KeyctlJoinSessionKeyring("probe")
	return err
}
