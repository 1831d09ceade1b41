package cgroups

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Orphans lists the directories of the child cgroups of parent (on every
// hierarchy) that are empty, not kept, and older than minAge (younger,
// one may be about to receive its first process). It only reads: a
// cgroup with processes, or whose processes cannot be read, is never
// listed.
func (h *Hierarchies) Orphans(parent string, keep func(name string) bool, minAge time.Duration) []string {
	var dirs []string
	for _, m := range h.mounts {
		ents, err := os.ReadDir(filepath.Join(m, parent))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if !e.IsDir() || keep(e.Name()) {
				continue
			}
			fi, err := e.Info()
			if err != nil || time.Since(fi.ModTime()) < minAge {
				continue
			}
			d := filepath.Join(m, parent, e.Name())
			b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
			if (err != nil && !errors.Is(err, fs.ErrNotExist)) || len(bytes.TrimSpace(b)) > 0 {
				continue
			}
			dirs = append(dirs, d)
		}
	}
	return dirs
}
