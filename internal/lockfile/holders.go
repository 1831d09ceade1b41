package lockfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Holder is a process that holds a lock.
type Holder struct {
	PID int
	// Command is the holder's command line (argv[0] shortened to its base
	// name), "" when it cannot be read.
	Command string
}

// String renders "PID 123 (edgerun load -i -)".
func (h Holder) String() string {
	if h.Command == "" {
		return "PID " + strconv.Itoa(h.PID)
	}
	return fmt.Sprintf("PID %d (%s)", h.PID, h.Command)
}

// maxCommand bounds a holder's command line in messages; the subcommand
// edgerun runs comes after its global flags (paths), so keep it long.
const maxCommand = 512

// Holders lists the processes holding a lock (flock, POSIX or OFD) on the
// file at path, as /proc/locks reports them: the file's device and inode
// lead to the PIDs, and /proc/PID/cmdline to their commands. Processes
// still waiting for the lock are not holders. A lock taken by a process
// that has exited but whose descriptor another process inherited is
// reported under the PID that took it.
func Holders(path string) ([]Holder, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nil, fmt.Errorf("find holders of %s: %w", path, &os.PathError{Op: "stat", Path: path, Err: err})
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return nil, fmt.Errorf("find holders of %s: %w", path, err)
	}
	defer f.Close()
	pids, err := lockPIDs(f, unix.Major(st.Dev), unix.Minor(st.Dev), st.Ino)
	if err != nil {
		return nil, fmt.Errorf("find holders of %s: %w", path, err)
	}
	out := make([]Holder, 0, len(pids))
	for _, pid := range pids {
		out = append(out, Holder{PID: pid, Command: cmdline(pid)})
	}
	return out, nil
}

// lockPIDs reads /proc/locks and returns, once each and in order, the PIDs
// holding a lock on the inode ino of device major:minor. Lines look like
//
//	1: FLOCK  ADVISORY  WRITE 4242 fe:00:10216680 0 EOF
//	1: -> FLOCK  ADVISORY  WRITE 4243 fe:00:10216680 0 EOF   (a waiter)
func lockPIDs(r io.Reader, major, minor uint32, ino uint64) ([]int, error) {
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, ino)
	var pids []int
	seen := map[int]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[1] == "->" {
			continue
		}
		if f[5] != want {
			continue
		}
		pid, err := strconv.Atoi(f[4])
		if err != nil || pid <= 0 || seen[pid] {
			continue // OFD locks of no single process show -1
		}
		seen[pid] = true
		pids = append(pids, pid)
	}
	return pids, sc.Err()
}

// cmdline is a process's command line for messages, "" when unreadable.
func cmdline(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(b) == 0 {
		return ""
	}
	args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
	args[0] = filepath.Base(args[0])
	s := strings.Join(args, " ")
	if r := []rune(s); len(r) > maxCommand {
		s = string(r[:maxCommand-1]) + "…"
	}
	return s
}

// describeHolders says who holds the lock at path, for a waiter's message.
func describeHolders(path string) string {
	hs, err := Holders(path)
	if err != nil || len(hs) == 0 {
		return "held by another process"
	}
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.String()
	}
	return "held by " + strings.Join(parts, ", ")
}
