package image

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
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
	free, err := p.o.diskFree(p.s.root)
	if err != nil {
		return fmt.Errorf("check free space on %s: %w", p.s.root, err)
	}
	if need > free {
		return fmt.Errorf("%w: the image needs about %s (%s to download, %s unpacked), %s free on %s: free space (edgerun image prune) or use another --root",
			ErrNoSpace, megabytes(need), megabytes(download), megabytes(unpacked), megabytes(free), p.s.root)
	}
	return nil
}

func megabytes(n int64) string {
	return fmt.Sprintf("%d MB", (n+500_000)/1_000_000)
}

func diskFree(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil //nolint:unconvert // Bsize is int32 on 32-bit ARM
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
