package images

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/internal/testenv"
)

// ownersLayout is an OCI layout of an image named owners:1 whose layer
// has a file of uid 33 and one of uid 4294967295, an ID no user namespace
// maps (not even the initial one).
func ownersLayout(t *testing.T) string {
	t.Helper()
	if strconv.IntSize < 64 {
		t.Skip("a tar header's uid cannot hold 4294967295 where int has 32 bits")
	}
	lost := uint64(1<<32 - 1) // a variable: the constant would not compile where int has 32 bits
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "www", Typeflag: tar.TypeReg, Mode: 0o644, Uid: 33, Gid: 33},
		{Name: "lost", Typeflag: tar.TypeReg, Mode: 0o4755, Uid: int(lost), Gid: 0},
	} {
		h.ModTime = time.Unix(1_600_000_000, 0)
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		t.Fatal(err)
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if img, err = mutate.AppendLayers(img, l); err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	host := image.HostPlatform()
	cf.OS, cf.Architecture, cf.Variant = host.OS, host.Architecture, host.Variant
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "owners:1"})); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadSaysOnceWhatOwnersRootTookOver checks that a load which unpacks
// files whose owners cannot be kept says so once for the image, and that
// loading it again says nothing.
func TestLoadSaysOnceWhatOwnersRootTookOver(t *testing.T) {
	testenv.RequireRoot(t, "chown unpacked files to their owners")
	var notes []string
	s, err := Open(t.TempDir(), Options{Notice: func(m string) { notes = append(notes, m) }})
	if err != nil {
		t.Fatal(err)
	}
	dir := ownersLayout(t)
	for range 2 {
		if _, err := s.Load(context.Background(), LoadOptions{Input: dir}); err != nil {
			t.Fatal(err)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "image owners:1: root owns 1 file ") {
		t.Fatalf("notes %q, want one for image owners:1 and its 1 file", notes)
	}
}
