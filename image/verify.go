package image

import (
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker's media types, accepted beside the OCI ones.
const (
	mediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerConfig       = "application/vnd.docker.container.image.v1+json"
	mediaTypeDockerLayerGzip    = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	mediaTypeDockerLayerTar     = "application/vnd.docker.image.rootfs.diff.tar"
	mediaTypeDockerForeignGzip  = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
	mediaTypeOCINondistTar      = "application/vnd.oci.image.layer.nondistributable.v1.tar"
	mediaTypeOCINondistGzip     = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
	mediaTypeOCINondistZstd     = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
)

func isManifestType(mt string) bool {
	return mt == ocispec.MediaTypeImageManifest || mt == mediaTypeDockerManifest
}

func isIndexType(mt string) bool {
	return mt == ocispec.MediaTypeImageIndex || mt == mediaTypeDockerManifestList
}

func isConfigType(mt string) bool {
	return mt == ocispec.MediaTypeImageConfig || mt == mediaTypeDockerConfig
}

func isLayerType(mt string) bool {
	switch mt {
	case ocispec.MediaTypeImageLayer, ocispec.MediaTypeImageLayerGzip, ocispec.MediaTypeImageLayerZstd,
		mediaTypeOCINondistTar, mediaTypeOCINondistGzip, mediaTypeOCINondistZstd,
		mediaTypeDockerLayerGzip, mediaTypeDockerLayerTar, mediaTypeDockerForeignGzip:
		return true
	}
	return false
}

// isUncompressedLayer: the layer digest is its diff ID.
func isUncompressedLayer(mt string) bool {
	return mt == ocispec.MediaTypeImageLayer || mt == mediaTypeOCINondistTar || mt == mediaTypeDockerLayerTar
}

// manifestDoc catches the fields of an index inside a manifest.
type manifestDoc struct {
	ocispec.Manifest
	Manifests json.RawMessage `json:"manifests,omitempty"`
}

// indexDoc catches the fields of a manifest inside an index.
type indexDoc struct {
	ocispec.Index
	Config json.RawMessage `json:"config,omitempty"`
	Layers json.RawMessage `json:"layers,omitempty"`
}

func present(r json.RawMessage) bool { return len(r) > 0 && string(r) != "null" }

func invalidf(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidImage}, a...)...)
}

// parseManifest decodes and checks an image manifest announced with
// descriptor media type mt.
func parseManifest(b []byte, d digest.Digest, mt string) (ocispec.Manifest, error) {
	var doc manifestDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return ocispec.Manifest{}, invalidf("manifest %s is not valid JSON: %v", d, err)
	}
	m := doc.Manifest
	if present(doc.Manifests) {
		return m, invalidf("manifest %s has both \"manifests\" (an index) and image fields: refusing an ambiguous document", d)
	}
	if m.SchemaVersion != 2 {
		return m, invalidf("manifest %s has schemaVersion %d, want 2", d, m.SchemaVersion)
	}
	if m.MediaType != "" && (!isManifestType(m.MediaType) || (mt != "" && m.MediaType != mt)) {
		return m, invalidf("manifest %s has media type %q (announced as %q)", d, m.MediaType, mt)
	}
	if !isConfigType(m.Config.MediaType) {
		return m, invalidf("manifest %s: config has media type %q, not an image config", d, m.Config.MediaType)
	}
	if err := checkDigest(m.Config.Digest); err != nil {
		return m, fmt.Errorf("manifest %s: config: %w", d, err)
	}
	for i, l := range m.Layers {
		if !isLayerType(l.MediaType) {
			return m, invalidf("manifest %s: layer %d has media type %q, not a layer", d, i, l.MediaType)
		}
		if err := checkDigest(l.Digest); err != nil {
			return m, fmt.Errorf("manifest %s: layer %d: %w", d, i, err)
		}
		if l.Size < 0 {
			return m, invalidf("manifest %s: layer %d has negative size", d, i)
		}
	}
	return m, nil
}

// parseIndex decodes and checks an image index.
func parseIndex(b []byte, d digest.Digest, mt string) (ocispec.Index, error) {
	var doc indexDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return ocispec.Index{}, invalidf("index %s is not valid JSON: %v", d, err)
	}
	idx := doc.Index
	if present(doc.Config) || present(doc.Layers) {
		return idx, invalidf("index %s has both \"manifests\" and image fields (config/layers): refusing an ambiguous document", d)
	}
	if idx.SchemaVersion != 2 {
		return idx, invalidf("index %s has schemaVersion %d, want 2", d, idx.SchemaVersion)
	}
	if idx.MediaType != "" && (!isIndexType(idx.MediaType) || (mt != "" && idx.MediaType != mt)) {
		return idx, invalidf("index %s has media type %q (announced as %q)", d, idx.MediaType, mt)
	}
	for i, m := range idx.Manifests {
		if err := checkDigest(m.Digest); err != nil {
			return idx, fmt.Errorf("index %s: entry %d: %w", d, i, err)
		}
	}
	return idx, nil
}

// parseConfig decodes an image config and checks it against the manifest.
func parseConfig(b []byte, d digest.Digest, layers []ocispec.Descriptor) (ocispec.Image, error) {
	var img ocispec.Image
	if err := json.Unmarshal(b, &img); err != nil {
		return img, invalidf("config %s is not valid JSON: %v", d, err)
	}
	if img.OS == "" || img.Architecture == "" {
		return img, invalidf("config %s does not say its os and architecture", d)
	}
	if img.RootFS.Type != "layers" {
		return img, invalidf("config %s has rootfs type %q, want \"layers\"", d, img.RootFS.Type)
	}
	if len(img.RootFS.DiffIDs) != len(layers) {
		return img, invalidf("config %s lists %d diff IDs for %d layers", d, len(img.RootFS.DiffIDs), len(layers))
	}
	for i, id := range img.RootFS.DiffIDs {
		if err := checkDigest(id); err != nil {
			return img, fmt.Errorf("config %s: diff ID %d: %w", d, i, err)
		}
		if isUncompressedLayer(layers[i].MediaType) && layers[i].Digest != id {
			return img, invalidf("config %s: diff ID %d is %s but the uncompressed layer is %s", d, i, id, layers[i].Digest)
		}
	}
	return img, nil
}

// imagePlatform is the platform of an image whose config is cfg: plat,
// the platform an index gave manifest d, when there is one (and the config
// must agree on OS and architecture), else the config's own.
func imagePlatform(cfg ocispec.Image, plat *ocispec.Platform, d digest.Digest) (ocispec.Platform, error) {
	own := normalizePlatform(ocispec.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant})
	if plat == nil {
		return own, nil
	}
	if plat.OS != own.OS || plat.Architecture != own.Architecture {
		return ocispec.Platform{}, invalidf("index says manifest %s is for %s but its config says %s", d, FormatPlatform(*plat), FormatPlatform(own))
	}
	return *plat, nil
}
