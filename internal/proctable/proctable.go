// Package proctable lists processes as `ps -ef` does (edgerun top),
// reading /proc itself so edgerun does not depend on procps, and filters
// the output of the host's ps to a set of PIDs (top with ps options).
package proctable

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Header is the default columns, `ps -ef`'s and docker top's.
var Header = []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every
// architecture Linux runs edgerun on.
const clockTicks = 100

// stat is what the default columns need of /proc/PID/stat.
type stat struct {
	comm         string
	ppid         int
	ttyNr        int
	utime, stime uint64 // clock ticks
	startTicks   uint64 // after boot
}

// parseStat reads /proc/PID/stat. The command name is in parentheses and
// may hold spaces and parentheses itself: the fields follow the last ')'.
func parseStat(b []byte) (stat, error) {
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return stat{}, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[end+1:]))
	// f[0] is field 3 (state); ppid is 4, tty_nr 7, utime 14, stime 15, starttime 22.
	if len(f) < 20 {
		return stat{}, errors.New("short stat")
	}
	var s stat
	var err error
	s.comm = string(b[open+1 : end])
	num := func(i int) uint64 {
		n, e := strconv.ParseUint(f[i], 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("stat field %d: %w", i+3, e)
		}
		return n
	}
	s.ppid, s.ttyNr = int(num(1)), int(int32(num(4)))
	s.utime, s.stime, s.startTicks = num(11), num(12), num(19)
	return s, err
}

// Source is where processes are read from: a /proc and the boot time.
type Source struct {
	Proc string    // "/proc"
	Now  time.Time // the time the table is taken
	// Boot is when the host booted (/proc/stat's btime).
	Boot time.Time
	// Uptime is the seconds since boot (/proc/uptime), for C.
	Uptime float64
}

// Host is the source of this host's /proc now.
func Host() (Source, error) {
	src := Source{Proc: "/proc", Now: time.Now()}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return src, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			src.Boot = time.Unix(n, 0)
		}
	}
	if b, err = os.ReadFile("/proc/uptime"); err == nil {
		f := strings.Fields(string(b))
		if len(f) > 0 {
			src.Uptime, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	return src, nil
}

// Rows are the default columns of each process in pids (sorted by PID);
// a process that ended meanwhile is left out.
func (src Source) Rows(pids []int) [][]string {
	pids = slices.Clone(pids)
	slices.Sort(pids)
	var rows [][]string
	for _, pid := range pids {
		dir := filepath.Join(src.Proc, strconv.Itoa(pid))
		b, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		s, err := parseStat(b)
		if err != nil {
			continue
		}
		var cmd string
		if cl, err := os.ReadFile(filepath.Join(dir, "cmdline")); err == nil && len(bytes.Trim(cl, "\x00")) > 0 {
			cmd = strings.Join(strings.Split(string(bytes.TrimRight(cl, "\x00")), "\x00"), " ")
		} else {
			cmd = "[" + s.comm + "]"
		}
		cpu := s.utime + s.stime
		rows = append(rows, []string{
			userOf(dir), strconv.Itoa(pid), strconv.Itoa(s.ppid),
			strconv.Itoa(percent(cpu, s.startTicks, src.Uptime)),
			startTime(src.Boot.Add(time.Duration(s.startTicks)*time.Second/clockTicks), src.Now),
			tty(s.ttyNr), cpuTime(cpu), cmd,
		})
	}
	return rows
}

// userOf is the name of the process's real user, or its number.
func userOf(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Uid:"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			if u, err := user.LookupId(f[0]); err == nil {
				return u.Username
			}
			return f[0]
		}
	}
	return "?"
}

// percent is ps's C: CPU time over time since the process started, in
// percent (integer, as ps -f prints it).
func percent(cpuTicks, startTicks uint64, uptime float64) int {
	life := uptime - float64(startTicks)/clockTicks
	if life <= 0 {
		return 0
	}
	return int(float64(cpuTicks) / clockTicks * 100 / life)
}

// startTime is ps's STIME: HH:MM within the last day, else MonDD, else
// the year.
func startTime(t, now time.Time) string {
	switch {
	case now.Sub(t) < 24*time.Hour:
		return t.Format("15:04")
	case t.Year() == now.Year():
		return t.Format("Jan02")
	}
	return t.Format("2006")
}

// cpuTime is ps's TIME: [DD-]HH:MM:SS of CPU.
func cpuTime(ticks uint64) string {
	secs := ticks / clockTicks
	d, h, m, s := secs/86400, secs/3600%24, secs/60%60, secs%60
	if d > 0 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", d, h, m, s)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
}

// tty names a controlling terminal by its device number, as ps: pts/N,
// ttyN, ttySN, or ? for none.
func tty(nr int) string {
	if nr == 0 {
		return "?"
	}
	major, minor := (nr>>8)&0xfff, (nr&0xff)|((nr>>12)&0xfff00)
	switch {
	case major >= 136 && major <= 143:
		return "pts/" + strconv.Itoa((major-136)*256+minor)
	case major == 4 && minor < 64:
		return "tty" + strconv.Itoa(minor)
	case major == 4:
		return "ttyS" + strconv.Itoa(minor-64)
	}
	return "?"
}

// Filter keeps the header and the lines of the host ps's output whose PID
// column is in pids, split into columns as docker top does: the last
// column takes the rest of the line (a command with its arguments).
func Filter(out []byte, pids []int) ([]string, [][]string, error) {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	header := strings.Fields(lines[0])
	col := slices.Index(header, "PID")
	if col < 0 {
		return nil, nil, errors.New("the ps options give no PID column: add -o pid or use -f")
	}
	var rows [][]string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= col {
			continue
		}
		pid, err := strconv.Atoi(f[col])
		if err != nil || !slices.Contains(pids, pid) {
			continue
		}
		if len(f) > len(header) {
			f = append(f[:len(header)-1], strings.Join(f[len(header)-1:], " "))
		}
		rows = append(rows, f)
	}
	return header, rows, nil
}
