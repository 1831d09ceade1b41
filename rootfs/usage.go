package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	digest "github.com/opencontainers/go-digest"
)

// Usage returns the size of every published layer, by diff ID: the
// FileBytes its complete marker recorded. A layer whose marker predates
// that field (Files counted, FileBytes 0) is measured by walking its tree
// (TreeSize), as is one whose marker cannot be read. It takes no lock and
// changes nothing: a layer pruned meanwhile is left out.
func (c *Cache) Usage() (map[digest.Digest]int64, error) {
	algo := digest.SHA256
	ents, err := os.ReadDir(c.path(algo.String()))
	if errors.Is(err, fs.ErrNotExist) {
		return map[digest.Digest]int64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read layer cache: %w", err)
	}
	out := make(map[digest.Digest]int64, len(ents))
	for _, e := range ents {
		d := digest.NewDigestFromEncoded(algo, e.Name())
		if d.Validate() != nil {
			continue
		}
		st, err := c.Stats(d)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // incomplete, or pruned since the listing
		case err == nil && (st.FileBytes > 0 || st.Files == 0):
			out[d] = st.FileBytes
		default:
			out[d] = TreeSize(c.Dir(d))
		}
	}
	return out, nil
}

// TreeSize adds up the apparent sizes of the regular files and symlinks
// below dir, a hard-linked file once, as docker measures a layer; what
// cannot be read counts as nothing.
func TreeSize(dir string) int64 {
	var total int64
	seen := map[uint64]bool{}
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil //nolint:nilerr // an unreadable part counts as nothing
		}
		info, err := d.Info()
		if err != nil {
			return nil //nolint:nilerr // removed while we walk
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
		}
		if info.Mode().IsRegular() || info.Mode()&fs.ModeSymlink != 0 {
			total += info.Size()
		}
		return nil
	})
	return total
}
