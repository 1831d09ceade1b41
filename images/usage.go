package images

import (
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/image"
)

// ImageUsage is one image's share of the store's disk, a row of
// `system df -v`.
type ImageUsage struct {
	Names   []string
	Digest  digest.Digest
	Created time.Time
	// Size is what the image needs on disk: its blobs (manifest, config,
	// compressed layers) and its unpacked layers.
	Size int64
	// SharedSize is the part of Size that another stored image needs too.
	SharedSize int64
	// Containers counts the containers, running or stopped, made from it.
	Containers int
}

// Usage is the image store's disk usage, for `system df`.
type Usage struct {
	Images []ImageUsage
	// Size is every blob and unpacked layer of the store, each counted
	// once, including those no image needs any more.
	Size int64
	// Reclaimable is the part of Size that neither an image a container
	// uses nor a container's own layers need: what `system prune -a`
	// frees.
	Reclaimable int64
}

// UsageOptions says what containers use, which the store cannot know.
type UsageOptions struct {
	// Containers counts the containers of each image (manifest digest).
	Containers map[digest.Digest]int
	// ContainerLayers are the layers containers need (an image removed
	// with rmi -f leaves its layers to its containers).
	ContainerLayers []digest.Digest
}

// Usage measures the store: blob sizes from the file system, unpacked
// layer sizes from their markers (rootfs.Cache.Usage). Nothing is locked
// or changed; an image removed meanwhile may still be counted.
func (s *Store) Usage(opts UsageOptions) (Usage, error) {
	imgs, err := s.content.List()
	if err != nil {
		return Usage{}, err
	}
	blobs, err := s.content.BlobSizes()
	if err != nil {
		return Usage{}, err
	}
	layers, err := s.layers.Usage()
	if err != nil {
		return Usage{}, err
	}
	return usage(imgs, blobs, layers, opts), nil
}

// part is one thing an image needs on disk: a blob or an unpacked layer
// (an uncompressed layer's blob digest is its diff ID, so the two kinds
// are kept apart).
type part struct {
	layer bool
	d     digest.Digest
}

// parts lists what img needs, each once.
func parts(img *image.Image) []part {
	seen := map[part]bool{}
	var out []part
	add := func(p part) {
		if p.d != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	add(part{d: img.Digest})
	add(part{d: img.ConfigDigest})
	for _, l := range img.Manifest.Layers {
		add(part{d: l.Digest})
	}
	for _, id := range img.Config.RootFS.DiffIDs {
		add(part{layer: true, d: id})
	}
	return out
}

// usage adds it up: each part once in the totals, shared parts in the
// SharedSize of every image that needs them.
func usage(imgs []*image.Image, blobs, layers map[digest.Digest]int64, opts UsageOptions) Usage {
	size := func(p part) int64 {
		if p.layer {
			return layers[p.d]
		}
		return blobs[p.d]
	}
	users := map[part]int{}
	needed := map[part]bool{} // by an image in use, or by a container
	for _, img := range imgs {
		for _, p := range parts(img) {
			users[p]++
			if opts.Containers[img.Digest] > 0 {
				needed[p] = true
			}
		}
	}
	for _, d := range opts.ContainerLayers {
		needed[part{layer: true, d: d}] = true
	}
	u := Usage{Images: make([]ImageUsage, 0, len(imgs))}
	for _, img := range imgs {
		iu := ImageUsage{Names: img.Names, Digest: img.Digest, Created: img.Created, Containers: opts.Containers[img.Digest]}
		for _, p := range parts(img) {
			iu.Size += size(p)
			if users[p] > 1 {
				iu.SharedSize += size(p)
			}
		}
		u.Images = append(u.Images, iu)
	}
	for d, n := range blobs {
		u.Size += n
		if !needed[part{d: d}] {
			u.Reclaimable += n
		}
	}
	for d, n := range layers {
		u.Size += n
		if !needed[part{layer: true, d: d}] {
			u.Reclaimable += n
		}
	}
	return u
}
