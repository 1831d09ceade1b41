package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// testImage builds a small random OCI image for a platform ("linux/arm/v7").
func testImage(t testing.TB, platform string) v1.Image {
	t.Helper()
	p, err := ParsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	return imageFor(t, p, 256, 256)
}

// imageFor builds an OCI image for platform p with random layers of the
// given sizes (incompressible, gzip-compressed).
func imageFor(t testing.TB, p ocispec.Platform, sizes ...int64) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, n := range sizes {
		l, err := random.Layer(n, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	cf.Config.Entrypoint = []string{"/bin/sensor"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustDigest(t testing.TB, img interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	h, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// multiArch builds an index with one image per platform.
func multiArch(t testing.TB, platforms ...string) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	imgs := map[string]v1.Image{}
	for _, ps := range platforms {
		img := testImage(t, ps)
		p, _ := ParsePlatform(ps)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant},
		}})
		imgs[ps] = img
	}
	return idx, imgs
}

// layoutDirWith writes an OCI layout holding the given images/indexes,
// each with its annotations.
func layoutDirWith(t testing.TB, items ...layoutItem) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		var opts []layout.Option
		if it.ann != nil {
			opts = append(opts, layout.WithAnnotations(it.ann))
		}
		if it.img != nil {
			err = p.AppendImage(it.img, opts...)
		} else {
			err = p.AppendIndex(it.idx, opts...)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type layoutItem struct {
	img v1.Image
	idx v1.ImageIndex
	ann map[string]string
}

func refName(n string) map[string]string { return map[string]string{annotationRefName: n} }

// tarDir packs a directory as an archive, entries in reverse order when
// reverse is set (archives may list blobs before index.json or after).
func tarDir(t testing.TB, dir string, reverse, gz bool) []byte {
	t.Helper()
	var files []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if reverse {
		sort.Sort(sort.Reverse(sort.StringSlice(files)))
	}
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, f)
		if err := tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// dockerSave writes a docker-save style archive with go-containerregistry.
func dockerSave(t testing.TB, refs map[string]v1.Image) []byte {
	t.Helper()
	m := map[name.Reference]v1.Image{}
	for r, img := range refs {
		ref, err := name.ParseReference(r)
		if err != nil {
			t.Fatal(err)
		}
		m[ref] = img
	}
	var buf bytes.Buffer
	if err := tarball.MultiRefWrite(m, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTemp(t testing.TB, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "input.tar")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func newStore(t testing.TB) *Store {
	t.Helper()
	return newStoreWith(t, StoreOptions{})
}

func newStoreWith(t testing.TB, opts StoreOptions) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "root"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertClean checks the store holds no half-written content, nor the
// lock files of finished ingests.
func assertClean(t testing.TB, s *Store) {
	t.Helper()
	ents, _ := os.ReadDir(s.ingestDir())
	for _, e := range ents {
		t.Errorf("leftover ingest file %s", e.Name())
	}
}

func blobCount(t testing.TB, s *Store) int {
	t.Helper()
	ents, err := os.ReadDir(s.blobDir())
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

var bg = context.Background()
