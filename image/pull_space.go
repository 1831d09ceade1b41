package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/internal/diskspace"
)

// unpackFactor estimates a compressed layer's unpacked size: a gzip or
// zstd layer of a typical distribution image unpacks to 2-3 times its size
// (the Debian minbase layer of bench/: 93 MB -> 225 MB). Plain tar layers
// count once.
const unpackFactor = 3

// checkSpace refuses a pull whose download and unpacked layers would not
// fit on the store's file system, counting only what is not already here.
func (p *puller) checkSpace(layers []Layer) error {
	var download, unpacked int64
	for _, l := range layers {
		d := l.Desc.Digest
		if !p.s.HasBlob(d) {
			download += l.Desc.Size - p.s.partialSize(d, l.Desc.Size)
		}
		if p.o.unpack != nil && (p.o.cached == nil || !p.o.cached(l.DiffID)) {
			if isUncompressedLayer(l.Desc.MediaType) {
				unpacked += l.Desc.Size
			} else {
				unpacked += unpackFactor * l.Desc.Size
			}
		}
	}
	need := download + unpacked
	if need == 0 {
		return nil
	}
	u, err := p.o.diskSpace(p.s.root)
	if err != nil {
		return fmt.Errorf("check free space on %s: %w", p.s.root, err)
	}
	if p.o.minFree >= 0 {
		// The inodes the layers will take are not known up front: refuse
		// only a file system already in its inode reserve (the unpack
		// keeps it as it goes).
		if err := u.LowInodes(p.s.root); err != nil {
			return noSpace(err)
		}
	}
	free := u.Avail
	reserve := diskspace.Reserve(p.o.minFree, u.Total)
	if need > free-reserve {
		keep, lower := "", ""
		if reserve > 0 {
			keep, lower = ", which must keep "+megabytes(reserve)+" free", ", lower the reserve (--min-free)"
		}
		return fmt.Errorf("%w: the image needs about %s (%s to download, %s unpacked), %s free on %s%s: free space (edgerun image prune)%s or use another --root",
			ErrNoSpace, megabytes(need), megabytes(download), megabytes(unpacked), megabytes(free), p.s.root, keep, lower)
	}
	return nil
}

func megabytes(n int64) string { return diskspace.MB(n) }

// noSpace says what to do when a writer reached the file system's reserve.
func noSpace(err error) error {
	var low *diskspace.LowError
	switch {
	case errors.As(err, &low) && low.Inodes:
		return fmt.Errorf("%w: %w: free inodes (edgerun image prune, or remove files), or turn the check off (--min-free 0)", ErrNoSpace, err)
	case errors.As(err, &low):
		return fmt.Errorf("%w: %w: free space (edgerun image prune) or lower the reserve (--min-free)", ErrNoSpace, err)
	}
	return err
}

// partialSize is how much of blob d a previous pull left in ingest/.
func (s *Store) partialSize(d digest.Digest, size int64) int64 {
	if checkDigest(d) != nil {
		return 0
	}
	fi, err := os.Stat(filepath.Join(s.ingestDir(), d.Encoded()))
	if err != nil || fi.Size() > size {
		return 0
	}
	return fi.Size()
}
