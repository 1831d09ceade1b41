package image

import (
	"context"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Bounds of nested image indexes in one load: how deep they nest, and how
// many entries all the indexes walked may list together (each index is
// read once).
const (
	maxIndexDepth   = 8
	maxIndexEntries = 1 << 16
)

// importer walks the images of one input, verifying every document and
// blob it needs and remembering them for commit.
type importer struct {
	s    *Store
	src  blobSource
	want ocispec.Platform
	used map[digest.Digest]*ingest

	indexEntries int // entries of the indexes walked, for maxIndexEntries
}

// resolveAll resolves every top-level entry; entries naming the same
// manifest merge into one image. A descriptor listed many times is
// resolved once.
func (im *importer) resolveAll(ctx context.Context, entries []entry) ([]Loaded, error) {
	var out []Loaded
	at := map[digest.Digest]int{}
	type key struct {
		d  digest.Digest
		mt string
	}
	done := map[key]digest.Digest{} // entry descriptor → image
	for _, e := range entries {
		k := key{e.desc.Digest, e.desc.MediaType}
		d, ok := done[k]
		if !ok {
			r, err := im.resolve(ctx, e.desc)
			if err != nil {
				return nil, err
			}
			d, done[k] = r.Digest, r.Digest
			if _, seen := at[d]; !seen {
				at[d] = len(out)
				out = append(out, r)
			}
		}
		i := at[d]
		for _, n := range e.names {
			out[i].Names = appendName(out[i].Names, n)
		}
	}
	return out, nil
}

// resolve turns a manifest or index descriptor into the one image stored.
func (im *importer) resolve(ctx context.Context, desc ocispec.Descriptor) (Loaded, error) {
	switch {
	case isIndexType(desc.MediaType):
		ms, err := im.indexManifests(ctx, desc, 1, map[digest.Digest]bool{})
		if err != nil {
			return Loaded{}, err
		}
		m, err := selectPlatform(ms, im.want)
		if err != nil {
			return Loaded{}, fmt.Errorf("index %s: %w", desc.Digest, err)
		}
		p := normalizePlatform(*m.Platform)
		return im.manifest(ctx, m, &p)
	case isManifestType(desc.MediaType):
		var p *ocispec.Platform
		if desc.Platform != nil {
			n := normalizePlatform(*desc.Platform)
			p = &n
		}
		return im.manifest(ctx, desc, p)
	}
	return Loaded{}, invalidf("%s has media type %q: want an OCI or docker image manifest or index", desc.Digest, desc.MediaType)
}

// indexManifests lists the manifests of the index desc at nesting depth
// (1: named by index.json or the archive), and those of the indexes nested
// in it; seen holds the indexes this walk read, each read once. Nesting
// deeper than maxIndexDepth is refused rather than reported as "no
// manifest for this platform".
func (im *importer) indexManifests(ctx context.Context, desc ocispec.Descriptor, depth int, seen map[digest.Digest]bool) ([]ocispec.Descriptor, error) {
	if depth > maxIndexDepth {
		return nil, invalidf("index %s: image indexes nest more than %d deep: make it one index of platform manifests", desc.Digest, maxIndexDepth)
	}
	if seen[desc.Digest] {
		return nil, nil
	}
	seen[desc.Digest] = true
	b, err := im.json(ctx, desc)
	if err != nil {
		return nil, err
	}
	idx, err := parseIndex(b, desc.Digest, desc.MediaType)
	if err != nil {
		return nil, err
	}
	if im.indexEntries += len(idx.Manifests); im.indexEntries > maxIndexEntries {
		return nil, invalidf("index %s: the image indexes list more than %d entries", desc.Digest, maxIndexEntries)
	}
	var out []ocispec.Descriptor
	for _, m := range idx.Manifests {
		if !isIndexType(m.MediaType) {
			out = append(out, m)
			continue
		}
		nested, err := im.indexManifests(ctx, m, depth+1, seen)
		if err != nil {
			return nil, err
		}
		out = append(out, nested...)
	}
	return out, nil
}

// manifest verifies a manifest, its config and all its layers.
func (im *importer) manifest(ctx context.Context, desc ocispec.Descriptor, plat *ocispec.Platform) (Loaded, error) {
	b, err := im.json(ctx, desc)
	if err != nil {
		return Loaded{}, err
	}
	m, err := parseManifest(b, desc.Digest, desc.MediaType)
	if err != nil {
		return Loaded{}, err
	}
	cb, err := im.json(ctx, m.Config)
	if err != nil {
		return Loaded{}, fmt.Errorf("manifest %s: config: %w", desc.Digest, err)
	}
	cfg, err := parseConfig(cb, m.Config.Digest, m.Layers)
	if err != nil {
		return Loaded{}, err
	}
	pl, err := imagePlatform(cfg, plat, desc.Digest)
	if err != nil {
		return Loaded{}, err
	}
	for i, l := range m.Layers {
		w, err := im.src.blob(ctx, l)
		if err != nil {
			return Loaded{}, fmt.Errorf("manifest %s: layer %d: %w", desc.Digest, i, err)
		}
		im.used[l.Digest] = w
	}
	for _, d := range []ocispec.Descriptor{desc, m.Config} {
		w, err := im.src.blob(ctx, d)
		if err != nil {
			return Loaded{}, err
		}
		im.used[d.Digest] = w
	}
	return Loaded{Digest: desc.Digest, Platform: pl}, nil
}

// json fetches a small document, refusing oversized ones before reading.
func (im *importer) json(ctx context.Context, desc ocispec.Descriptor) ([]byte, error) {
	if err := checkDigest(desc.Digest); err != nil {
		return nil, err
	}
	if err := im.s.checkJSONSize(desc.Digest.String(), desc.Size); err != nil {
		return nil, err
	}
	w, err := im.src.blob(ctx, desc)
	if err != nil {
		return nil, err
	}
	rc, err := w.open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readCapped(rc, im.s.jsonLimit, desc.Digest.String())
}
