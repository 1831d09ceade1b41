package runtime

import (
	"context"
	"fmt"
	"io"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/rootfs"
)

// LoadOptions are the inputs of `edgerun load`.
type LoadOptions struct {
	// Input is a path to an OCI layout directory, an OCI archive or a
	// docker-save tar, or "-" for Stdin.
	Input string
	Stdin io.Reader
	// Name tags the loaded image (only when the input holds one image).
	Name string
	// Platform overrides the host platform when the input is multi-arch.
	Platform string
}

// LoadImages imports images into the store and unpacks their layers, so a
// hostile or corrupt layer is refused at load time rather than at run time.
func (r *Runtime) LoadImages(ctx context.Context, opts LoadOptions) ([]image.Loaded, error) {
	var lopts []image.LoadOption
	if opts.Name != "" {
		lopts = append(lopts, image.WithName(opts.Name))
	}
	if opts.Platform != "" {
		p, err := image.ParsePlatform(opts.Platform)
		if err != nil {
			return nil, err
		}
		lopts = append(lopts, image.WithPlatform(p))
	}
	lopts = append(lopts, image.WithBeforeTag(func(ctx context.Context, img *image.Image) error {
		_, err := r.unpack(ctx, img)
		return err
	}))
	return r.images.Load(ctx, opts.Input, opts.Stdin, lopts...)
}

// unpack makes every layer of img available in the layer cache and returns
// their directories, bottom layer first.
func (r *Runtime) unpack(ctx context.Context, img *image.Image) ([]string, error) {
	layers := r.images.Layers(img)
	src := make([]rootfs.Layer, len(layers))
	for i, l := range layers {
		d := l.Desc.Digest
		src[i] = rootfs.Layer{
			DiffID:    l.DiffID,
			MediaType: l.Desc.MediaType,
			Open:      func() (io.ReadCloser, error) { return r.images.OpenBlob(d) },
		}
	}
	dirs, err := r.layers.Ensure(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("unpack image %s: %w", img.Digest.Encoded()[:12], err)
	}
	return dirs, nil
}

// ImageSummary is one row of `edgerun images`.
type ImageSummary struct {
	Name     string        `json:"name"`
	Digest   digest.Digest `json:"digest"`
	Platform string        `json:"platform"`
	Size     int64         `json:"size"`
	Created  time.Time     `json:"created,omitzero"`
}

// ListImages returns one summary per name (and one for each unnamed image).
func (r *Runtime) ListImages() ([]ImageSummary, error) {
	imgs, err := r.images.List()
	if err != nil {
		return nil, err
	}
	var out []ImageSummary
	for _, img := range imgs {
		s := ImageSummary{
			Digest:   img.Digest,
			Platform: image.FormatPlatform(img.Platform),
			Size:     img.Size,
			Created:  img.Created,
		}
		if len(img.Names) == 0 {
			s.Name = "<none>"
			out = append(out, s)
			continue
		}
		for _, n := range img.Names {
			s.Name = n
			out = append(out, s)
		}
	}
	return out, nil
}

// RemoveImage untags ref (or, for a digest or ID, removes every name of
// that image). It refuses while a container uses the image unless force.
func (r *Runtime) RemoveImage(ref string, force bool) ([]string, error) {
	return r.images.Remove(ref,
		image.WithForce(force),
		image.WithInUse(r.imageUser))
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

// PruneReport says what `edgerun image prune` removed.
type PruneReport struct {
	Blobs  []digest.Digest `json:"blobs"`
	Layers []digest.Digest `json:"layers"`
	Freed  int64           `json:"freed"`
}

// PruneImages removes blobs no name references and unpacked layers that
// neither a named image nor an existing container needs.
func (r *Runtime) PruneImages(ctx context.Context) (PruneReport, error) {
	var rep PruneReport
	blobs, freed, err := r.images.Prune(ctx)
	rep.Blobs, rep.Freed = blobs, freed
	if err != nil {
		return rep, err
	}
	keep, err := r.images.DiffIDs()
	if err != nil {
		return rep, err
	}
	recs, err := r.listRecords()
	if err != nil {
		return rep, fmt.Errorf("list containers before pruning layers: %w", err)
	}
	for _, rec := range recs {
		for _, d := range rec.Layers {
			keep[d] = true
		}
	}
	layers, lfreed, err := r.layers.Prune(ctx, keep)
	rep.Layers = layers
	rep.Freed += lfreed
	return rep, err
}
