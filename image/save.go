package image

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Save formats.
const (
	// FormatDockerArchive is what `docker save` (25.0 and later) writes:
	// an OCI image layout with docker's manifest.json and repositories
	// beside it, so docker load of every version, podman load and edgerun
	// load read it.
	FormatDockerArchive = "docker-archive"
	// FormatOCIArchive is an OCI image layout in a tar (podman save
	// --format oci-archive, skopeo's oci-archive:).
	FormatOCIArchive = "oci-archive"
)

// SaveItem is one image to save and the names (normalised, tags only) it
// is saved under; no names saves it unnamed, as docker does for an image
// given by ID.
type SaveItem struct {
	Image *Image
	Names []string
}

// SaveRef resolves one argument of `edgerun save`: a name saves the image
// under that name, a digest or ID prefix saves it unnamed (docker's rule).
func (s *Store) SaveRef(ref string) (SaveItem, error) {
	img, err := s.Get(ref)
	if err != nil {
		return SaveItem{}, err
	}
	item := SaveItem{Image: img}
	if n, err := ParseReference(ref); err == nil && !strings.Contains(n, "@") {
		for _, have := range img.Names {
			if have == n {
				item.Names = []string{n}
			}
		}
	}
	return item, nil
}

// Save writes items to w as one tar archive in format (FormatDockerArchive
// or FormatOCIArchive). Every blob is written once, with the digest it
// has in the store, so loading the archive gives the same image digests.
// Entries have fixed owners, modes and times: the same images give the
// same bytes.
func (s *Store) Save(w io.Writer, items []SaveItem, format string) error {
	if format != FormatDockerArchive && format != FormatOCIArchive {
		return fmt.Errorf("save format %q is not supported: use %s or %s", format, FormatDockerArchive, FormatOCIArchive)
	}
	if len(items) == 0 {
		return fmt.Errorf("no image to save")
	}
	tw := &saveWriter{tw: tar.NewWriter(w), written: map[digest.Digest]bool{}}
	for _, dir := range []string{ocispec.ImageBlobsDir + "/", ocispec.ImageBlobsDir + "/sha256/"} {
		if err := tw.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
	}
	idx := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	var dms []dockerManifest
	repos := map[string]map[string]string{}
	for _, it := range items {
		if err := s.saveBlobs(tw, it.Image); err != nil {
			return err
		}
		idx.Manifests = append(idx.Manifests, indexEntries(it, format)...)
		dm := dockerManifest{Config: blobPathOf(it.Image.ConfigDigest), RepoTags: []string{}}
		for _, l := range it.Image.Manifest.Layers {
			dm.Layers = append(dm.Layers, blobPathOf(l.Digest))
		}
		for _, n := range it.Names {
			dm.RepoTags = append(dm.RepoTags, FamiliarName(n))
			repo, tag := FamiliarName(repoOf(n)), n[len(repoOf(n))+1:]
			if repos[repo] == nil {
				repos[repo] = map[string]string{}
			}
			repos[repo][tag] = it.Image.Digest.Encoded()
		}
		dms = append(dms, dm)
	}
	meta := []struct {
		name string
		v    any
	}{{ocispec.ImageLayoutFile, ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion}}, {ocispec.ImageIndexFile, idx}}
	if format == FormatDockerArchive {
		meta = append(meta, struct {
			name string
			v    any
		}{"manifest.json", dms}, struct {
			name string
			v    any
		}{"repositories", repos})
	}
	for _, m := range meta {
		b, err := json.Marshal(m.v)
		if err != nil {
			return err
		}
		if err := tw.file(m.name, int64(len(b)), strings.NewReader(string(b))); err != nil {
			return err
		}
	}
	return tw.tw.Close()
}

// indexEntries are index.json's descriptors of one saved image: one per
// name. docker-archive names it as docker 25 does (the full name in
// containerd's annotation, the tag in ref.name); oci-archive puts the full
// name in ref.name, as podman does, which skopeo and podman load read.
func indexEntries(it SaveItem, format string) []ocispec.Descriptor {
	img := it.Image
	base := ocispec.Descriptor{MediaType: img.Manifest.MediaType, Digest: img.Digest, Size: img.ManifestSize}
	if base.MediaType == "" {
		base.MediaType = ocispec.MediaTypeImageManifest
	}
	if img.Platform.OS != "" {
		p := img.Platform
		base.Platform = &p
	}
	if len(it.Names) == 0 {
		return []ocispec.Descriptor{base}
	}
	out := make([]ocispec.Descriptor, 0, len(it.Names))
	for _, n := range it.Names {
		d := base
		ref := n
		if format == FormatDockerArchive {
			ref = n[len(repoOf(n))+1:]
		}
		d.Annotations = map[string]string{annotationContainerdName: n, annotationRefName: ref}
		out = append(out, d)
	}
	return out
}

func blobPathOf(d digest.Digest) string {
	return ocispec.ImageBlobsDir + "/" + d.Algorithm().String() + "/" + d.Encoded()
}

// saveBlobs writes an image's manifest, config and layers, each once per
// archive.
func (s *Store) saveBlobs(tw *saveWriter, img *Image) error {
	descs := []ocispec.Descriptor{{Digest: img.Digest, Size: img.ManifestSize}, img.Manifest.Config}
	descs = append(descs, img.Manifest.Layers...)
	for _, d := range descs {
		if tw.written[d.Digest] {
			continue
		}
		if err := checkDigest(d.Digest); err != nil {
			return err
		}
		r, err := s.OpenBlob(d.Digest)
		if err != nil {
			return fmt.Errorf("save image %s: %w", img.Digest.Encoded()[:12], err)
		}
		err = tw.file(blobPathOf(d.Digest), d.Size, r)
		r.Close()
		if err != nil {
			return fmt.Errorf("save blob %s: %w", d.Digest, err)
		}
		tw.written[d.Digest] = true
	}
	return nil
}

type saveWriter struct {
	tw      *tar.Writer
	written map[digest.Digest]bool
}

// file writes one regular file of exactly size bytes from r.
func (w *saveWriter) file(name string, size int64, r io.Reader) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: time.Unix(0, 0)}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(w.tw, io.LimitReader(r, size))
	if err == nil && n != size {
		err = fmt.Errorf("%s is %d bytes in the store, want %d: the store is damaged: run edgerun check", name, n, size)
	}
	return err
}
