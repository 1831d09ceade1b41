package image

import (
	"bytes"
	"context"
	"encoding/json"
	"io"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// dockerManifest is one entry of a docker-save manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// dockerEntries turns a legacy docker-save manifest.json into OCI
// manifests, stored like any other blob; names come from RepoTags.
func (a *archive) dockerEntries(ctx context.Context, b []byte) ([]entry, error) {
	var dms []dockerManifest
	if err := json.Unmarshal(b, &dms); err != nil {
		return nil, invalidf("manifest.json is not a docker-save manifest: %v", err)
	}
	if len(dms) == 0 {
		return nil, invalidf("manifest.json lists no images")
	}
	out := make([]entry, 0, len(dms))
	for _, dm := range dms {
		e, err := a.dockerEntry(ctx, dm)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (a *archive) dockerEntry(ctx context.Context, dm dockerManifest) (entry, error) {
	cfg, err := a.byPath(dm.Config)
	if err != nil {
		return entry{}, err
	}
	m := ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cfg.got, Size: cfg.n},
		Layers:    make([]ocispec.Descriptor, 0, len(dm.Layers)),
	}
	for _, p := range dm.Layers {
		l, err := a.byPath(p)
		if err != nil {
			return entry{}, err
		}
		mt, err := sniffLayer(l)
		if err != nil {
			return entry{}, err
		}
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: mt, Digest: l.got, Size: l.n})
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return entry{}, err
	}
	d := digest.FromBytes(mb)
	if a.blobs[d] == nil {
		w, err := a.s.ingestFrom(ctx, bytes.NewReader(mb), d, int64(len(mb)), a.space)
		if err != nil {
			return entry{}, err
		}
		a.blobs[d] = w
	}
	e := entry{desc: ocispec.Descriptor{MediaType: m.MediaType, Digest: d, Size: int64(len(mb))}}
	for _, t := range dm.RepoTags {
		n, err := ParseReference(t)
		if err != nil {
			return entry{}, invalidf("manifest.json RepoTags: %v", err)
		}
		e.names = append(e.names, n)
	}
	return e, nil
}

// sniffLayer tells the layer media type from the content's magic bytes.
func sniffLayer(w *ingest) (string, error) {
	rc, err := w.open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var magic [4]byte
	n, _ := io.ReadFull(rc, magic[:])
	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		return ocispec.MediaTypeImageLayerGzip, nil
	case n == 4 && bytes.Equal(magic[:], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return ocispec.MediaTypeImageLayerZstd, nil
	}
	return ocispec.MediaTypeImageLayer, nil
}
