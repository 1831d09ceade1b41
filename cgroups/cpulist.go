package cgroups

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// maxCPU bounds CPU numbers so a typo like "0-99999999" cannot allocate a
// huge list.
const maxCPU = 8191

// CPUList is a sorted set of CPU numbers, as written in the kernel's list
// format ("0-2,4").
type CPUList []int

// ParseCPUList parses the kernel list format used by --cpuset-cpus and
// /sys/devices/system/cpu/online. An empty string is an empty list.
func ParseCPUList(s string) (CPUList, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	seen := map[int]bool{}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, err := parseCPURange(part)
		if err != nil {
			return nil, err
		}
		for c := lo; c <= hi; c++ {
			seen[c] = true
		}
	}
	list := make(CPUList, 0, len(seen))
	for c := range seen {
		list = append(list, c)
	}
	slices.Sort(list)
	return list, nil
}

func parseCPURange(part string) (int, int, error) {
	loS, hiS, isRange := strings.Cut(part, "-")
	lo, err := parseCPU(loS)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		return lo, lo, nil
	}
	hi, err := parseCPU(hiS)
	if err != nil {
		return 0, 0, err
	}
	if hi < lo {
		return 0, 0, fmt.Errorf("%w: CPU range %q goes backwards: write it as low-high", ErrInvalidLimit, part)
	}
	return lo, hi, nil
}

func parseCPU(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("%w: %q is not a CPU number: want a list like 0-2,4", ErrInvalidLimit, s)
	}
	if n > maxCPU {
		return 0, fmt.Errorf("%w: CPU %d is out of range (max %d)", ErrInvalidLimit, n, maxCPU)
	}
	return n, nil
}

// String formats the list in the kernel's list format, merging runs.
func (l CPUList) String() string {
	var b strings.Builder
	for i := 0; i < len(l); {
		j := i
		for j+1 < len(l) && l[j+1] == l[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(l[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(l[j]))
		}
		i = j + 1
	}
	return b.String()
}

// Contains reports whether cpu is in the list.
func (l CPUList) Contains(cpu int) bool {
	_, ok := slices.BinarySearch(l, cpu)
	return ok
}
