package main

import (
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// refNameAnnotation names an image in an OCI layout's index.json.
const refNameAnnotation = "org.opencontainers.image.ref.name"

// imageSpec is one single-platform image: one layer plus its runtime configuration.
type imageSpec struct {
	platform  v1.Platform
	config    v1.Config
	entries   []entry
	createdBy string
}

// builder turns image specs into images. Layer tars are staged in tmp.
type builder struct {
	epoch time.Time // every timestamp the builder itself sets
	level int       // gzip level
	tmp   string
}

// layer writes entries to a tar file in b.tmp and returns it as a gzip OCI layer.
func (b builder) layer(entries []entry) (v1.Layer, error) {
	f, err := os.CreateTemp(b.tmp, "layer-*.tar")
	if err != nil {
		return nil, fmt.Errorf("stage layer: %w", err)
	}
	defer f.Close()
	if err := writeTar(f, entries, b.epoch); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("stage layer: %w", err)
	}
	return tarball.LayerFromFile(f.Name(), tarball.WithMediaType(types.OCILayer),
		tarball.WithCompressionLevel(b.level))
}

// image builds the OCI image (manifest and config media types are OCI, not Docker).
func (b builder) image(spec imageSpec) (v1.Image, error) {
	l, err := b.layer(spec.entries)
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	created := v1.Time{Time: b.epoch}
	img, err = mutate.Append(img, mutate.Addendum{Layer: l, MediaType: types.OCILayer,
		History: v1.History{Created: created, CreatedBy: spec.createdBy}})
	if err != nil {
		return nil, fmt.Errorf("append layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = created
	cf.OS, cf.Architecture, cf.Variant = spec.platform.OS, spec.platform.Architecture, spec.platform.Variant
	cf.Config = spec.config
	return mutate.ConfigFile(img, cf)
}

// writeLayout builds specs and writes them to the OCI layout dir, replacing it. One spec
// gives index.json → manifest; several give index.json → image index → one manifest per
// platform. Either way the top descriptor carries ref.name = ref.
func (b builder) writeLayout(dir, ref string, specs []imageSpec) error {
	if len(specs) == 0 {
		return fmt.Errorf("write %s: no images to write", dir)
	}
	tmp := dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("clear %s: %w", tmp, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("create parent of %s: %w", dir, err)
	}
	p, err := layout.Write(tmp, mutate.IndexMediaType(empty.Index, types.OCIImageIndex))
	if err != nil {
		return fmt.Errorf("start layout %s: %w", tmp, err)
	}
	ann := layout.WithAnnotations(map[string]string{refNameAnnotation: ref})
	if len(specs) == 1 {
		var img v1.Image
		if img, err = b.image(specs[0]); err != nil {
			return err
		}
		err = p.AppendImage(img, ann, layout.WithPlatform(specs[0].platform))
	} else {
		var idx v1.ImageIndex
		if idx, err = b.index(specs); err != nil {
			return err
		}
		err = p.AppendIndex(idx, ann)
	}
	if err != nil {
		return fmt.Errorf("write layout %s: %w", tmp, err)
	}
	// Blobs are written through temporary files (mode 0600): make the
	// layout readable by everyone, so the rootless test users can load it.
	if err := filepath.WalkDir(tmp, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chmod(path, 0o644)
	}); err != nil {
		return fmt.Errorf("make layout %s readable: %w", tmp, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	return nil
}

func (b builder) index(specs []imageSpec) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, s := range specs {
		img, err := b.image(s)
		if err != nil {
			return nil, err
		}
		pl := s.platform
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &pl}})
	}
	return idx, nil
}

// defaultLevel is the gzip level of every layer unless -level says otherwise.
const defaultLevel = gzip.DefaultCompression

// firstLayerBlob returns the path of the first layer blob of the single image in dir.
func firstLayerBlob(dir string) (string, error) {
	p, err := layout.FromPath(dir)
	if err != nil {
		return "", err
	}
	idx, err := p.ImageIndex()
	if err != nil {
		return "", err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return "", err
	}
	if len(m.Manifests) != 1 {
		return "", fmt.Errorf("layout %s: want one image, found %d", dir, len(m.Manifests))
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		return "", err
	}
	layers, err := img.Layers()
	if err != nil {
		return "", err
	}
	if len(layers) == 0 {
		return "", fmt.Errorf("layout %s: image has no layers", dir)
	}
	d, err := layers[0].Digest()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "blobs", d.Algorithm, d.Hex), nil
}
