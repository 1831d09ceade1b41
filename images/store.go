// Package images is the local image store as edgerun's commands use it:
// package image's verified content store and name index together with
// rootfs's unpacked-layer cache, under one persistent root. Loads and pulls
// unpack every layer before the image gets its name, so a named image can
// always run and a hostile layer is refused before anything uses it. It
// knows nothing of containers: what they use comes in as callbacks (rmi's
// in-use check, prune's layers to keep). It may import image, rootfs and
// internal; never container, specgen, netns or runc.
package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/rootfs"
	"github.com/edgerun/edgerun/sigpolicy"
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
	// MaxLayerRatio bounds how many times its compressed size a layer may
	// unpack to (rootfs.UnpackOptions.MaxRatio: 0 is the default, 100;
	// negative is no limit).
	MaxLayerRatio int
	// MinFree is how many bytes of the root's file system to keep free
	// while blobs are staged and layers unpacked (0: 5% of it, at least
	// 256 MiB, at most 4 GiB, at most a quarter; negative: no check).
	MinFree int64
}

// Store is the local image store under one persistent root.
type Store struct {
	content *image.Store
	layers  *rootfs.Cache
	notice  func(string)
	journal *events.Journal
	policy  sigpolicy.Source
}

// Options configure Open; the zero value is no notices and no events.
type Options struct {
	// Notice receives messages for the user about state the store
	// repaired, and once per image unpacked, the files whose owners this
	// user namespace does not map.
	Notice func(string)
	// Events gets docker's image events: pull, load, tag, untag, delete,
	// save.
	Events *events.Journal
	// Policy is the signature policy file pulls and loads obey (read at
	// each one); the zero value is none: every image is accepted.
	Policy sigpolicy.Source
}

// Open opens (creating when missing) the image store and the layer cache
// under the persistent root.
func Open(root string, opts Options) (*Store, error) {
	content, err := image.Open(root, image.StoreOptions{Notice: opts.Notice})
	if err != nil {
		return nil, fmt.Errorf("open image store under %s: %w", root, err)
	}
	layers, err := rootfs.OpenCache(LayerCache(root), rootfs.CacheOptions{})
	if err != nil {
		return nil, fmt.Errorf("open layer cache under %s: %w", root, err)
	}
	return &Store{content: content, layers: layers, notice: opts.Notice, journal: opts.Events, policy: opts.Policy}, nil
}

// Get returns the stored image a reference names (name, digest or ID
// prefix).
func (s *Store) Get(ref string) (*image.Image, error) { return s.content.Get(ref) }

// LayerDirs are the unpacked directories of layers, bottom first, whether
// or not they are (still) in the cache.
func (s *Store) LayerDirs(diffIDs []digest.Digest) []string {
	dirs := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		dirs[i] = s.layers.Dir(d)
	}
	return dirs
}

// Load imports images into the store and unpacks their layers, so a
// hostile or corrupt layer is refused at load time rather than at run time.
func (s *Store) Load(ctx context.Context, opts LoadOptions) ([]image.Loaded, error) {
	if err := s.checkLoadPolicy(opts.Input); err != nil {
		return nil, err
	}
	limits := rootfs.UnpackOptions{MaxRatio: opts.MaxLayerRatio, MinFree: opts.MinFree}
	unpacked := map[digest.Digest][]digest.Digest{} // images with a layer unpacked now: their layers
	lopts := image.LoadOptions{
		Name:    opts.Name,
		MinFree: opts.MinFree,
		BeforeTag: func(ctx context.Context, img *image.Image) error {
			ids := s.layerIDs(img)
			fresh := s.anyMissing(ids)
			if _, err := s.unpack(ctx, img, limits); err != nil {
				return err
			}
			if fresh {
				unpacked[img.Digest] = ids
			}
			return nil
		},
	}
	if opts.Platform != "" {
		p, err := image.ParsePlatform(opts.Platform)
		if err != nil {
			return nil, err
		}
		lopts.Platform = p
	}
	loaded, err := s.content.Load(ctx, opts.Input, opts.Stdin, lopts)
	for _, l := range loaded {
		if ids, ok := unpacked[l.Digest]; ok {
			s.noteOwners(imageName(l.Names, l.Digest), ids)
		}
		img, _ := s.content.Get(l.Digest.String())
		s.event("load", l.Digest.String(), eventName(l.Names, l.Digest), img)
	}
	return loaded, err
}

// Unpack makes every layer of img available in the layer cache and returns
// their directories, bottom layer first. limits are the call's own (run's
// --max-layer-ratio and --min-free: MaxRatio, MinFree); its zero value is
// the cache's defaults. A layer unpacked now whose files' owners the user
// namespace cannot map is said once per image (noteOwners).
func (s *Store) Unpack(ctx context.Context, img *image.Image, limits rootfs.UnpackOptions) ([]string, error) {
	ids := s.layerIDs(img)
	fresh := s.anyMissing(ids)
	dirs, err := s.unpack(ctx, img, limits)
	if err == nil && fresh {
		s.noteOwners(imageName(img.Names, img.Digest), ids)
	}
	return dirs, err
}

// unpack is Unpack with a call's own limits (load's flags).
func (s *Store) unpack(ctx context.Context, img *image.Image, limits rootfs.UnpackOptions) ([]string, error) {
	layers := s.content.Layers(img)
	src := make([]rootfs.Layer, len(layers))
	for i, l := range layers {
		d := l.Desc.Digest
		src[i] = rootfs.Layer{
			DiffID:    l.DiffID,
			MediaType: l.Desc.MediaType,
			Open:      func() (io.ReadCloser, error) { return s.content.OpenBlob(d) },
		}
	}
	dirs, err := s.layers.EnsureWith(ctx, src, limits)
	if err != nil {
		return nil, fmt.Errorf("unpack image %s: %w", img.Digest.Encoded()[:12], err)
	}
	return dirs, nil
}

// Summary is one row of `edgerun images`.
type Summary struct {
	Name     string        `json:"name"`
	Digest   digest.Digest `json:"digest"`
	Platform string        `json:"platform"`
	Size     int64         `json:"size"`
	Created  time.Time     `json:"created,omitzero"`
}

// List returns one summary per name (and one for each unnamed image).
func (s *Store) List() ([]Summary, error) {
	imgs, err := s.content.List()
	if err != nil {
		return nil, err
	}
	var out []Summary
	for _, img := range imgs {
		sum := Summary{
			Digest:   img.Digest,
			Platform: image.FormatPlatform(img.Platform),
			Size:     img.Size,
			Created:  img.Created,
		}
		if len(img.Names) == 0 {
			sum.Name = "<none>"
			out = append(out, sum)
			continue
		}
		for _, n := range img.Names {
			sum.Name = n
			out = append(out, sum)
		}
	}
	return out, nil
}

// Tag points the name target at the stored image src names (a name,
// digest or ID prefix), taking it from any other image; it returns the
// normalised name.
func (s *Store) Tag(src, target string) (string, error) {
	img, err := s.content.Get(src)
	if err != nil {
		return "", err
	}
	name, err := image.ParseReference(target)
	if err != nil {
		return "", err
	}
	if err := s.content.Tag(name, img.Digest); err != nil {
		return "", err
	}
	s.event("tag", img.Digest.String(), image.FamiliarName(name), img)
	return name, nil
}

// Remove untags ref (or, for a digest or ID, removes every name of that
// image). It refuses while inUse reports a container using the image
// (by manifest digest), unless force.
func (s *Store) Remove(ref string, force bool, inUse func(digest.Digest) (container string, used bool)) ([]string, error) {
	img, _ := s.content.Get(ref) // for the events: the image the names were of
	removed, err := s.content.Remove(ref, image.RemoveOptions{Force: force, InUse: inUse})
	if err == nil {
		s.removed(img, removed)
	}
	return removed, err
}

// PruneReport says what `edgerun image prune` removed.
type PruneReport struct {
	// Images are the images removed, as rmi says it: "Untagged: NAME" and
	// "Deleted: DIGEST" lines.
	Images []string        `json:"images"`
	Blobs  []digest.Digest `json:"blobs"`
	Layers []digest.Digest `json:"layers"`
	Freed  int64           `json:"freed"`
}

// PruneOptions says which images Prune removes before it frees what no
// image needs.
type PruneOptions struct {
	// Images removes images: those without a name (docker's dangling
	// images; not those whose names a rebuild of the index lost), or with
	// All every one; never one a container uses. Without it only what no
	// image needs is freed.
	Images bool
	All    bool
	// Match says whether an image passes the prune's filters (nil: all).
	Match func(*image.Image) bool
	// InUse reports a container using the image with this manifest digest.
	InUse func(digest.Digest) (container string, used bool)
	// ContainerLayers lists the layers existing containers need.
	ContainerLayers func() ([]digest.Digest, error)
}

// Prune removes the images opts selects, then the blobs no image
// references and the unpacked layers that neither an image nor a
// container (opts.ContainerLayers) needs.
func (s *Store) Prune(ctx context.Context, opts PruneOptions) (PruneReport, error) {
	var rep PruneReport
	if opts.Images {
		lines, err := s.removeUnused(opts)
		rep.Images = lines
		if err != nil {
			return rep, err
		}
	}
	blobs, freed, err := s.content.Prune(ctx)
	rep.Blobs, rep.Freed = blobs, freed
	if err != nil {
		return rep, err
	}
	fault.Point("image-prune/after-blobs")
	keep, err := s.content.DiffIDs()
	if err != nil {
		return rep, err
	}
	used, err := opts.ContainerLayers()
	if err != nil {
		return rep, fmt.Errorf("list containers before pruning layers: %w", err)
	}
	for _, d := range used {
		keep[d] = true
	}
	layers, lfreed, err := s.layers.Prune(ctx, keep)
	rep.Layers = layers
	rep.Freed += lfreed
	s.pruned(rep.Freed)
	return rep, err
}

// removeUnused removes the images no container uses that opts selects,
// each as rmi of its digest would (every name, then the image).
func (s *Store) removeUnused(opts PruneOptions) ([]string, error) {
	imgs, err := s.content.List()
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, img := range imgs {
		if (len(img.Names) > 0 || img.NamesLost) && !opts.All || opts.Match != nil && !opts.Match(img) {
			continue // named, or nameless only because a rebuild lost its names
		}
		if opts.InUse != nil {
			if _, used := opts.InUse(img.Digest); used {
				continue
			}
		}
		removed, err := s.content.Remove(img.Digest.String(), image.RemoveOptions{InUse: opts.InUse, Unnamed: !opts.All})
		if errors.Is(err, image.ErrNamed) || errors.Is(err, image.ErrInUse) || errors.Is(err, image.ErrNotFound) {
			continue // named, used or removed since the listing
		}
		if err != nil {
			return lines, err
		}
		lines = append(lines, removed...)
	}
	return lines, nil
}

// Save writes the images refs name to w as one archive in format
// (image.FormatDockerArchive or image.FormatOCIArchive). Every reference
// is resolved before anything is written.
func (s *Store) Save(w io.Writer, refs []string, format string) error {
	items := make([]image.SaveItem, 0, len(refs))
	for _, ref := range refs {
		it, err := s.content.SaveRef(ref)
		if err != nil {
			return err
		}
		items = append(items, it)
	}
	items = mergeSaveItems(items)
	if err := s.content.Save(w, items, format); err != nil {
		return err
	}
	for _, it := range items {
		s.event("save", it.Image.Digest.String(), eventName(it.Names, it.Image.Digest), it.Image)
	}
	return nil
}

// mergeSaveItems joins the names of an image given more than once
// (edgerun save busybox:1 busybox:latest), as docker lists its RepoTags.
func mergeSaveItems(items []image.SaveItem) []image.SaveItem {
	var out []image.SaveItem
	at := map[digest.Digest]int{}
	for _, it := range items {
		i, ok := at[it.Image.Digest]
		if !ok {
			at[it.Image.Digest] = len(out)
			out = append(out, it)
			continue
		}
		for _, n := range it.Names {
			if !slices.Contains(out[i].Names, n) {
				out[i].Names = append(out[i].Names, n)
			}
		}
	}
	return out
}
