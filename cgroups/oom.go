package cgroups

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// OOMKilled reports whether the kernel's OOM killer killed a process in the
// container's cgroup. paths maps controllers to cgroup directories as
// libcontainer reports them ("memory" on v1, "" on v2). It reads the
// oom_kill counter: memory.oom_control on v1, memory.events on v2.
func OOMKilled(paths map[string]string) bool {
	if p, ok := paths["memory"]; ok && p != "" {
		if n, ok := readCounter(filepath.Join(p, "memory.oom_control"), "oom_kill"); ok {
			return n > 0
		}
	}
	for _, p := range paths {
		if n, ok := readCounter(filepath.Join(p, "memory.events"), "oom_kill"); ok {
			return n > 0
		}
	}
	return false
}

// readCounter reads "key N" from a flat-keyed cgroup file.
func readCounter(file, key string) (uint64, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := bytes.Cut(sc.Bytes(), []byte(" "))
		if ok && string(k) == key {
			n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
