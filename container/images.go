package container

import (
	"context"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/images"
)

// RemoveImage untags ref (or, for a digest or ID, removes every name of
// that image). It refuses while a container uses the image unless force.
func (r *Runtime) RemoveImage(ref string, force bool) ([]string, error) {
	store, err := r.Images()
	if err != nil {
		return nil, err
	}
	return store.Remove(ref, force, r.imageUser)
}

// imageUser reports a container that uses the image with manifest digest d.
func (r *Runtime) imageUser(d digest.Digest) (string, bool) {
	recs, err := r.listRecords()
	if err != nil {
		// Be safe: an unreadable container list must not let rmi pull an
		// image from under a container.
		return "(container list unreadable: " + err.Error() + ")", true
	}
	for _, rec := range recs {
		if rec.ImageDigest == d {
			return rec.Name, true
		}
	}
	return "", false
}

// PruneImages removes blobs no name references and unpacked layers that
// neither a named image nor an existing container needs.
func (r *Runtime) PruneImages(ctx context.Context) (images.PruneReport, error) {
	store, err := r.Images()
	if err != nil {
		return images.PruneReport{}, err
	}
	return store.Prune(ctx, func() ([]digest.Digest, error) {
		recs, err := r.listRecords()
		var layers []digest.Digest
		for _, rec := range recs {
			layers = append(layers, rec.Layers...)
		}
		return layers, err
	})
}
