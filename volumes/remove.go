package volumes

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// removeTree removes dir and everything below it without following
// symlinks, and returns the disk space the removed inodes used (hardlinks
// counted once). Directories a container made unreadable or unwritable
// are opened up first: without CAP_DAC_OVERRIDE (an ordinary user) they
// could not be emptied.
func removeTree(dir string) (int64, error) {
	var size int64
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() && errors.Is(err, fs.ErrPermission) {
				_ = os.Chmod(p, 0o700)
				return nil
			}
			return nil // removal below reports what is really in the way
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if d.IsDir() && info.Mode().Perm()&0o700 != 0o700 {
			_ = os.Chmod(p, info.Mode().Perm()|0o700)
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && !seen[st.Ino] {
			seen[st.Ino] = true
			size += st.Blocks * 512
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		return 0, err
	}
	return size, nil
}
