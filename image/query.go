package image

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Image is a stored image: one platform-specific manifest and its config.
type Image struct {
	Names        []string // normalised names; empty for <none>
	Digest       digest.Digest
	ManifestSize int64 // bytes of the manifest blob
	Manifest     ocispec.Manifest
	Config       ocispec.Image
	ConfigDigest digest.Digest
	Platform     ocispec.Platform
	Size         int64 // config + layers, as stored
	Created      time.Time
	// Loaded is when this store got the image (load, pull; after the
	// index was rebuilt from the blobs, when its manifest blob was written).
	Loaded time.Time
	// NamesLost: a <none> image whose names a rebuild of the index could
	// not recover (not a dangling image; see record.NamesLost).
	NamesLost bool
	// Healthcheck is the config's HEALTHCHECK (docker's extension of the
	// OCI config), nil when it has none.
	Healthcheck *Healthcheck
}

// Healthcheck is docker's HEALTHCHECK in an image config: the test
// (["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"]) and its timing, the
// durations in nanoseconds, zero for "the default".
type Healthcheck struct {
	Test          []string      `json:"Test,omitempty"`
	Interval      time.Duration `json:"Interval,omitempty"`
	Timeout       time.Duration `json:"Timeout,omitempty"`
	StartPeriod   time.Duration `json:"StartPeriod,omitempty"`
	StartInterval time.Duration `json:"StartInterval,omitempty"`
	Retries       int           `json:"Retries,omitempty"`
}

// parseHealthcheck reads the HEALTHCHECK the OCI config type leaves out;
// a malformed one is ignored like any unknown field.
func parseHealthcheck(b []byte) *Healthcheck {
	var doc struct {
		Config struct {
			Healthcheck *Healthcheck `json:"Healthcheck"`
		} `json:"config"`
	}
	if json.Unmarshal(b, &doc) != nil {
		return nil
	}
	return doc.Config.Healthcheck
}

// Layer pairs a layer blob with the digest of its uncompressed content.
type Layer struct {
	Desc   ocispec.Descriptor
	DiffID digest.Digest
}

// Get finds an image by name (normalised: busybox means
// docker.io/library/busybox:latest), full digest, or unique ID prefix.
func (s *Store) Get(ref string) (*Image, error) {
	ix, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	d, _, err := ix.resolve(ref)
	if err != nil {
		return nil, err
	}
	return s.image(d, ix.Images[d])
}

// List returns every stored image, named ones first by name, then <none>.
func (s *Store) List() ([]*Image, error) {
	ix, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	out := make([]*Image, 0, len(ix.Images))
	for d, r := range ix.Images {
		img, err := s.image(d, r)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (len(a.Names) == 0) != (len(b.Names) == 0) {
			return len(a.Names) > 0
		}
		if len(a.Names) > 0 && a.Names[0] != b.Names[0] {
			return a.Names[0] < b.Names[0]
		}
		return a.Digest < b.Digest
	})
	return out, nil
}

func (s *Store) image(d digest.Digest, r *record) (*Image, error) {
	b, err := s.readBlobJSON(d)
	if err != nil {
		return nil, fmt.Errorf("image %s: manifest: %w", d, err)
	}
	m, err := parseManifest(b, d, "")
	if err != nil {
		return nil, err
	}
	cb, err := s.readBlobJSON(m.Config.Digest)
	if err != nil {
		return nil, fmt.Errorf("image %s: config: %w", d, err)
	}
	cfg, err := parseConfig(cb, m.Config.Digest, m.Layers)
	if err != nil {
		return nil, err
	}
	img := &Image{
		Names:        append([]string(nil), r.Names...),
		Digest:       d,
		ManifestSize: int64(len(b)),
		Manifest:     m,
		Config:       cfg,
		ConfigDigest: m.Config.Digest,
		Platform:     r.Platform,
		Size:         m.Config.Size,
		Healthcheck:  parseHealthcheck(cb),
		Loaded:       r.Loaded,
		NamesLost:    r.NamesLost,
	}
	for _, l := range m.Layers {
		img.Size += l.Size
	}
	if cfg.Created != nil {
		img.Created = *cfg.Created
	}
	return img, nil
}

// Layers pairs the image's layer descriptors with their diff IDs, base
// layer first.
func (s *Store) Layers(img *Image) []Layer {
	out := make([]Layer, 0, len(img.Manifest.Layers))
	for i, l := range img.Manifest.Layers {
		var id digest.Digest
		if i < len(img.Config.RootFS.DiffIDs) {
			id = img.Config.RootFS.DiffIDs[i]
		}
		out = append(out, Layer{Desc: l, DiffID: id})
	}
	return out
}

// DiffIDs returns the diff IDs of every layer of every stored image
// (named or <none>), so the unpacked-layer cache keeps what they need.
func (s *Store) DiffIDs() (map[digest.Digest]bool, error) {
	imgs, err := s.List()
	if err != nil {
		return nil, err
	}
	out := map[digest.Digest]bool{}
	for _, img := range imgs {
		for _, id := range img.Config.RootFS.DiffIDs {
			out[id] = true
		}
	}
	return out, nil
}
