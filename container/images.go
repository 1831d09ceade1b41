package container

import (
	"context"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/image"
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

// ImagePruneOptions say which images `image prune` removes: those
// without a name (docker's dangling images), or with All every image no
// container uses, as far as Filter lets them (until: when this host got
// the image; label: its config's labels).
type ImagePruneOptions struct {
	All    bool
	Filter PruneFilter
	// KeepImages removes no image, only what no image needs (blobs and
	// unpacked layers).
	KeepImages bool
}

// PruneImages removes the images opts selects that no container uses,
// then the blobs no image references and the unpacked layers that neither
// an image nor a container needs.
func (r *Runtime) PruneImages(ctx context.Context, opts ImagePruneOptions) (images.PruneReport, error) {
	store, err := r.Images()
	if err != nil {
		return images.PruneReport{}, err
	}
	return store.Prune(ctx, images.PruneOptions{
		Images: !opts.KeepImages,
		All:    opts.All,
		Match: func(img *image.Image) bool {
			t := img.Loaded
			if t.IsZero() {
				t = img.Created
			}
			return opts.Filter.Match(t, img.Config.Config.Labels)
		},
		InUse: r.imageUser,
		ContainerLayers: func() ([]digest.Digest, error) {
			recs, err := r.listRecords()
			var layers []digest.Digest
			for _, rec := range recs {
				layers = append(layers, rec.Layers...)
			}
			return layers, err
		},
	})
}
