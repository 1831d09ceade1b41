package main

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"golang.org/x/sys/unix"
)

// treeEntries describes the directory tree under root as layer entries, keeping owners,
// modes, modification times, device numbers and hard links. Sockets are skipped (tar cannot
// hold them); extended attributes are not recorded.
func treeEntries(root string) ([]entry, error) {
	type inode struct{ dev, ino uint64 }
	var out []entry
	var inodes []inode // inodes[i] belongs to out[i]; zero unless a multiply linked file
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		var key inode
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("stat %s: no unix metadata", p)
		}
		e := entry{name: filepath.ToSlash(rel), mode: int64(st.Mode & 0o7777),
			uid: int(st.Uid), gid: int(st.Gid), mtime: fi.ModTime()}
		switch fi.Mode().Type() {
		case 0:
			if st.Nlink > 1 {
				key = inode{st.Dev, st.Ino}
			}
			e.typ, e.size = tar.TypeReg, fi.Size()
			e.open = func() (io.ReadCloser, error) { return os.Open(p) }
		case fs.ModeDir:
			e.typ = tar.TypeDir
		case fs.ModeSymlink:
			e.typ = tar.TypeSymlink
			if e.link, err = os.Readlink(p); err != nil {
				return err
			}
		case fs.ModeDevice | fs.ModeCharDevice, fs.ModeDevice:
			e.typ = tar.TypeBlock
			if fi.Mode()&fs.ModeCharDevice != 0 {
				e.typ = tar.TypeChar
			}
			e.major, e.minor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		case fs.ModeNamedPipe:
			e.typ = tar.TypeFifo
		default:
			return nil
		}
		out = append(out, e)
		inodes = append(inodes, key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, err)
	}
	// The walk order is not the tar order ("a/b" is walked before "a-c" but sorts after it),
	// so hard links are assigned in name order: the first name of an inode holds the data.
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return out[idx[a]].name < out[idx[b]].name })
	first := make(map[inode]string)
	sorted := make([]entry, 0, len(out))
	for _, i := range idx {
		e := out[i]
		if k := inodes[i]; k != (inode{}) {
			if name, ok := first[k]; ok {
				e.typ, e.link, e.size, e.open = tar.TypeLink, name, 0, nil
			} else {
				first[k] = e.name
			}
		}
		sorted = append(sorted, e)
	}
	return sorted, nil
}
