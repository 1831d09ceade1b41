package images

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/rootfs"
)

// LayerCache is the directory of the unpacked-layer cache of the store
// under root (for `edgerun check`, which reads it without opening it).
func LayerCache(root string) string { return filepath.Join(root, "layers") }

// RestoreLayers unpacks the layers with these diff IDs again from the
// stored images that have them (check's repair of a container whose
// layers were lost), and returns the diff IDs no stored image has.
func (s *Store) RestoreLayers(ctx context.Context, diffIDs []digest.Digest) (missing []digest.Digest, err error) {
	imgs, err := s.content.List()
	if err != nil {
		return nil, err
	}
	from := map[digest.Digest]rootfs.Layer{}
	for _, img := range imgs {
		for _, l := range s.content.Layers(img) {
			d := l.Desc.Digest
			from[l.DiffID] = rootfs.Layer{
				DiffID:    l.DiffID,
				MediaType: l.Desc.MediaType,
				Open:      func() (io.ReadCloser, error) { return s.content.OpenBlob(d) },
			}
		}
	}
	var todo []rootfs.Layer
	for _, id := range diffIDs {
		l, ok := from[id]
		if !ok {
			if !s.layers.Has(id) {
				missing = append(missing, id)
			}
			continue
		}
		todo = append(todo, l)
	}
	if _, err := s.layers.Ensure(ctx, todo); err != nil {
		return missing, fmt.Errorf("unpack layers again: %w", err)
	}
	return missing, nil
}
