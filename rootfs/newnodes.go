package rootfs

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// newNodes is what the kernel gives a node Unpack creates: its owner and,
// for regular files, its permission bits. Knowing it lets Unpack skip the
// chown and chmod that would change nothing (most files of a real layer are
// root-owned 0644 or 0755: two syscalls of six per file).
//
// It is probed once per Unpack, from the destination root: a new node is
// owned by our effective uid and gid unless its directory is setgid, and
// gets the open(2) mode minus the umask unless a default ACL decides
// instead. Directories created during the unpack keep mode 0755 until
// finishDirs, so neither setgid nor a default ACL can appear below a root
// that has neither (Unpack's destination is empty). When the probe cannot
// tell, every chown and chmod is done as before.
type newNodes struct {
	owned      bool // uid/gid below are what new nodes get
	uid, gid   int
	umask      uint32
	knownPerms bool // files get exactly perm &^ umask
}

func probeNewNodes(root *os.File, chown bool) newNodes {
	var n newNodes
	var st unix.Stat_t
	if err := unix.Fstat(int(root.Fd()), &st); err != nil {
		return n
	}
	setgid := st.Mode&unix.S_ISGID != 0
	n.uid, n.gid = os.Geteuid(), os.Getegid()
	n.owned = chown && !setgid
	umask, ok := readUmask()
	if !ok {
		return n
	}
	_, err := unix.Getxattr("/proc/self/fd/"+strconv.Itoa(int(root.Fd())), "system.posix_acl_default", nil)
	noACL := errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP)
	n.umask, n.knownPerms = umask, noACL
	return n
}

// readUmask reads this process's umask from /proc/self/status (Linux 4.7+)
// without changing it (umask(2) can only be read by setting it, a race with
// other goroutines).
func readUmask() (uint32, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "Umask:")
		if !ok {
			continue
		}
		m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
		return uint32(m) & 0o777, err == nil
	}
	return 0, false
}

// needChown reports whether the policy changes owners and o differs from
// what a new node gets.
func (u *unpacker) needChown(o owner) bool {
	if u.cfg.ids == nil {
		return false
	}
	return !u.news.owned || o.uid != u.news.uid || o.gid != u.news.gid
}

// createPerm returns the mode to create a regular file of permission bits
// perm with and the bits it will then have (unknownPerm if not known).
// Setuid, setgid and sticky bits are always set by fchmod after the chown.
func (u *unpacker) createPerm(perm uint32) (uint32, uint32) {
	if !u.news.knownPerms || perm&0o7000 != 0 {
		return 0o600, unknownPerm
	}
	return perm, perm &^ u.news.umask
}
