package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/opencontainers/go-digest"
)

// BlobSizes returns the size of every blob in the store, by digest,
// including blobs no image needs any more (Prune removes those). Partial
// downloads in ingest/ are not blobs yet and are left out. It takes no
// lock: a blob removed meanwhile is left out.
func (s *Store) BlobSizes() (map[digest.Digest]int64, error) {
	ents, err := os.ReadDir(s.blobDir())
	if errors.Is(err, fs.ErrNotExist) {
		return map[digest.Digest]int64{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read blobs: %w", err)
	}
	out := make(map[digest.Digest]int64, len(ents))
	for _, e := range ents {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if d.Validate() != nil {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		out[d] = info.Size()
	}
	return out, nil
}
