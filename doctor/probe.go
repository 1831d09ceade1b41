package doctor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ProbeEnv is set in the environment of the child process that probes an
// overlay mount, or only its own creation, inside a new user namespace: a
// process cannot unshare its user namespace once it has threads, so the
// probe re-executes this binary and main calls ProbeChild before anything
// else.
const ProbeEnv = "EDGERUN_DOCTOR_OVERLAY_PROBE"

// Statfs is the real Options.Statfs.
func Statfs(path string) (bytes, inodes uint64, fstype string, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, "", fmt.Errorf("statfs %s: %w", path, err)
	}
	return st.Bavail * uint64(st.Bsize), st.Ffree, fsName(uint32(st.Type)), nil
}

// fsName names the file system magic numbers that matter for overlay (the
// magic is 32 bits; statfs.f_type is a signed word, so int32 on 32-bit ARM).
func fsName(magic uint32) string {
	switch magic {
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	case unix.OVERLAYFS_SUPER_MAGIC:
		return "overlayfs"
	case unix.NFS_SUPER_MAGIC:
		return "nfs"
	case unix.MSDOS_SUPER_MAGIC:
		return "vfat"
	case unix.F2FS_SUPER_MAGIC:
		return "f2fs"
	case unix.SQUASHFS_MAGIC:
		return "squashfs"
	}
	return fmt.Sprintf("fs 0x%x", magic)
}

// ProbeOverlay is the real Options.ProbeOverlay: it mounts an overlay of
// two fresh directories in a temp dir under dir and removes everything
// again. With userns it does so in a child process inside a new user and
// mount namespace (the current user mapped to root).
func ProbeOverlay(dir string, userns bool) error {
	tmp, err := os.MkdirTemp(dir, ".edgerun-doctor-")
	if err != nil {
		return fmt.Errorf("make a probe dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	if !userns {
		return mountOverlay(tmp, "")
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), ProbeEnv+"="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return errors.New(msg)
		}
		return fmt.Errorf("create a user namespace: %w", err)
	}
	return nil
}

// usernsOnly, as ProbeEnv's value, makes the child only prove that it
// runs in a new user namespace (ProbeUserns).
const usernsOnly = "-"

// ProbeUserns is the real Options.ProbeUserns: it starts this binary in a
// new user namespace (the current user mapped to root), as the rootless
// session's holder is started, and returns why that failed. The sysctls
// may allow user namespaces while a seccomp filter or security policy of
// the container doctor runs in refuses them.
func ProbeUserns() error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), ProbeEnv+"="+usernsOnly)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		if msg := strings.TrimSpace(string(out)); msg != "" {
			return errors.New(msg)
		}
		return fmt.Errorf("create a user namespace: %w", err)
	}
	return nil
}

// ProbeChild runs in the re-executed child when ProbeEnv is set: it
// mounts the probe overlay (with userxattr, as unprivileged overlay
// requires) and returns the exit code; for ProbeUserns it only exits.
func ProbeChild(dir string) int {
	if dir == usernsOnly {
		return 0
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		fmt.Fprintf(os.Stderr, "make mounts private: %v\n", err)
		return 1
	}
	if err := mountOverlay(dir, ",userxattr"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func mountOverlay(tmp, extra string) error {
	var d [4]string
	for i, n := range []string{"lower", "upper", "work", "merged"} {
		d[i] = filepath.Join(tmp, n)
		if err := os.Mkdir(d[i], 0o700); err != nil {
			return fmt.Errorf("make a probe dir: %w", err)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s%s", d[0], d[1], d[2], extra)
	if err := unix.Mount("overlay", d[3], "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay: %w", err)
	}
	if err := unix.Unmount(d[3], unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount the probe overlay: %w", err)
	}
	return nil
}
