package testenv

import (
	"fmt"
	"os"
	"strings"
)

// mountEntry is the part of a mountinfo line (proc_pid_mountinfo(5)) the
// checks read.
type mountEntry struct {
	dev    string // major:minor of the file system
	point  string // mount point, unescaped
	fstype string
	line   string
}

// mountTable reads and parses h.Mountinfo.
func (h Host) mountTable() ([]mountEntry, error) {
	b, err := os.ReadFile(h.Mountinfo)
	if err != nil {
		return nil, fmt.Errorf("read the mount table: %w", err)
	}
	var table []mountEntry
	for _, line := range strings.Split(string(b), "\n") {
		// ID PARENT MAJOR:MINOR ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS
		f := strings.Fields(line)
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+1 >= len(f) {
			continue
		}
		table = append(table, mountEntry{dev: f[2], point: unescapeMount(f[4]), fstype: f[sep+1], line: line})
	}
	if len(table) == 0 {
		return nil, fmt.Errorf("no mounts in %s", h.Mountinfo)
	}
	return table, nil
}

// mentions reports whether a mountinfo line names the path dir (escaped as
// the kernel escapes it) or a path below it: as a whole field, or as a
// value in the options (upperdir=DIR/..., lowerdir=A:DIR/...).
func mentions(line, dir string) bool {
	for i := 0; ; {
		j := strings.Index(line[i:], dir)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(dir)
		if (start == 0 || strings.IndexByte(" =,:", line[start-1]) >= 0) &&
			(end == len(line) || strings.IndexByte(" /,:", line[end]) >= 0) {
			return true
		}
		i = start + 1
	}
}

// escapeMount escapes a path as mountinfo does: space, tab, newline and
// backslash as octal.
func escapeMount(s string) string {
	return strings.NewReplacer(`\`, `\134`, " ", `\040`, "\t", `\011`, "\n", `\012`).Replace(s)
}

// unescapeMount undoes mountinfo's octal escapes.
func unescapeMount(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			sb.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
