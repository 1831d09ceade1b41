package doctor

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// HelperPrivilege is the real Options.HelperPrivilege: newuidmap and
// newgidmap work for an ordinary user when they are setuid root or carry
// file capabilities (Fedora, Arch), on a file system not mounted nosuid
// (which ignores both).
func HelperPrivilege(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", fmt.Errorf("stat %s: %w", path, err)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err == nil && uint64(sfs.Flags)&unix.ST_NOSUID != 0 {
		return "", errors.New("its file system is mounted nosuid, which ignores setuid bits and file capabilities")
	}
	if st.Mode&unix.S_ISUID != 0 && st.Uid == 0 {
		return "setuid root", nil
	}
	if n, err := unix.Getxattr(path, "security.capability", nil); err == nil && n > 0 {
		return "file capabilities", nil
	}
	return "", fmt.Errorf("neither setuid root nor given file capabilities (mode %o, owner %d)", st.Mode&0o7777, st.Uid)
}

// Writable is the real Options.Writable: access(2) with W_OK, as the user
// running doctor.
func Writable(path string) bool {
	return unix.Access(path, unix.W_OK) == nil
}

// ProbeTun is the real Options.ProbeTun: it opens /dev/net/tun read-write
// as slirp4netns does, and closes it again (nothing is created without
// the TUNSETIFF ioctl).
func ProbeTun() error {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: "/dev/net/tun", Err: err}
	}
	return unix.Close(fd)
}
