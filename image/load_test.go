package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestLoadFormats(t *testing.T) {
	img := testImage(t, "linux/amd64")
	want := mustDigest(t, img)
	dir := layoutDirWith(t, layoutItem{img: img, ann: refName("sensor:1.2")})
	cases := []struct {
		name      string
		src       func(t *testing.T) (string, []byte) // path or "-" with stdin bytes
		wantNames []string
		oci       bool // the manifest digest is preserved
	}{
		{"layout dir", func(*testing.T) (string, []byte) { return dir, nil }, []string{"docker.io/library/sensor:1.2"}, true},
		{"oci archive", func(t *testing.T) (string, []byte) { return writeTemp(t, tarDir(t, dir, false, false)), nil },
			[]string{"docker.io/library/sensor:1.2"}, true},
		{"oci archive blobs before index", func(t *testing.T) (string, []byte) { return "-", tarDir(t, dir, true, false) },
			[]string{"docker.io/library/sensor:1.2"}, true},
		{"gzipped oci archive from stdin", func(t *testing.T) (string, []byte) { return "-", tarDir(t, dir, false, true) },
			[]string{"docker.io/library/sensor:1.2"}, true},
		{"docker save", func(t *testing.T) (string, []byte) {
			return writeTemp(t, dockerSave(t, map[string]v1.Image{"busybox": img})), nil
		}, []string{"docker.io/library/busybox:latest"}, false},
		{"gzipped docker save", func(t *testing.T) (string, []byte) {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			if _, err := zw.Write(dockerSave(t, map[string]v1.Image{"busybox:1": img})); err != nil {
				t.Fatal(err)
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			return writeTemp(t, buf.Bytes()), nil
		}, []string{"docker.io/library/busybox:1"}, false},
		{"docker save from stdin", func(t *testing.T) (string, []byte) {
			return "-", dockerSave(t, map[string]v1.Image{"localhost:5000/x/y:1": img})
		}, []string{"localhost:5000/x/y:1"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			src, in := tc.src(t)
			got, err := s.Load(bg, src, bytes.NewReader(in), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || strings.Join(got[0].Names, ",") != strings.Join(tc.wantNames, ",") {
				t.Fatalf("loaded %+v, want names %v", got, tc.wantNames)
			}
			if tc.oci && got[0].Digest.String() != want {
				t.Errorf("digest %s, want %s", got[0].Digest, want)
			}
			if FormatPlatform(got[0].Platform) != "linux/amd64" {
				t.Errorf("platform %s", FormatPlatform(got[0].Platform))
			}
			im, err := s.Get(tc.wantNames[0])
			if err != nil {
				t.Fatal(err)
			}
			if im.Digest != got[0].Digest || len(s.Layers(im)) != 2 || im.Config.Config.Entrypoint[0] != "/bin/sensor" {
				t.Errorf("Get returned %+v", im)
			}
			for _, l := range s.Layers(im) {
				rc, err := s.OpenBlob(l.Desc.Digest)
				if err != nil {
					t.Fatal(err)
				}
				rc.Close()
			}
			// manifest + config + 2 layers, nothing else kept
			if n := blobCount(t, s); n != 4 {
				t.Errorf("%d blobs stored, want 4", n)
			}
			assertClean(t, s)
		})
	}
}

func TestLoadNames(t *testing.T) {
	a, b := testImage(t, "linux/amd64"), testImage(t, "linux/amd64")
	cases := []struct {
		name    string
		items   []layoutItem
		opts    LoadOptions
		want    map[string]bool // names expected in List; "<none>" for unnamed
		wantErr string
	}{
		{"bare ref.name means latest", []layoutItem{{img: a, ann: refName("busybox")}}, LoadOptions{},
			map[string]bool{"docker.io/library/busybox:latest": true}, ""},
		{"containerd name wins over ref.name", []layoutItem{{img: a, ann: map[string]string{
			annotationContainerdName: "docker.io/library/busybox:1.36", annotationRefName: "1.36"}}}, LoadOptions{},
			map[string]bool{"docker.io/library/busybox:1.36": true}, ""},
		{"ref.name latest is a tag, not a name", []layoutItem{{img: a, ann: refName("latest")}}, LoadOptions{},
			nil, `names its image only by the tag "latest" (org.opencontainers.image.ref.name), which is no image name: load it with --name NAME:latest`},
		{"ref.name 1.36 is a tag, not a name", []layoutItem{{img: a, ann: refName("1.36")}}, LoadOptions{},
			nil, "load it with --name NAME:1.36"},
		{"--name names a tag-only image", []layoutItem{{img: a, ann: refName("latest")}}, LoadOptions{Name: "sensor:latest"},
			map[string]bool{"docker.io/library/sensor:latest": true}, ""},
		{"unnamed image is listed as none", []layoutItem{{img: a}}, LoadOptions{}, map[string]bool{"<none>": true}, ""},
		{"--name tags an unnamed image", []layoutItem{{img: a}}, LoadOptions{Name: "sensor:2"},
			map[string]bool{"docker.io/library/sensor:2": true}, ""},
		{"two names for one manifest", []layoutItem{{img: a, ann: refName("x:1")}, {img: a, ann: refName("x:2")}}, LoadOptions{},
			map[string]bool{"docker.io/library/x:1,docker.io/library/x:2": true}, ""},
		{"--name with two images is refused", []layoutItem{{img: a, ann: refName("x:1")}, {img: b, ann: refName("y:1")}},
			LoadOptions{Name: "z"}, nil, "--name tags one image but the input holds 2"},
		{"bad --name", []layoutItem{{img: a}}, LoadOptions{Name: "UPPER:case"}, nil, "invalid image reference"},
		{"bad annotation", []layoutItem{{img: a, ann: refName("no spaces allowed")}}, LoadOptions{}, nil, "image name annotation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			_, err := s.Load(bg, layoutDirWith(t, tc.items...), nil, tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if n := blobCount(t, s); n != 0 {
					t.Errorf("%d blobs visible after a failed load", n)
				}
				assertClean(t, s)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			imgs, err := s.List()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, im := range imgs {
				n := strings.Join(im.Names, ",")
				if n == "" {
					n = "<none>"
				}
				got[n] = true
			}
			if len(got) != len(tc.want) {
				t.Fatalf("names %v, want %v", got, tc.want)
			}
			for n := range tc.want {
				if !got[n] {
					t.Fatalf("names %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestLoadMultiArchPicksPlatform(t *testing.T) {
	platforms := []string{"linux/amd64", "linux/arm/v6", "linux/arm/v7", "linux/arm64/v8"}
	idx, imgs := multiArch(t, platforms...)
	dir := layoutDirWith(t, layoutItem{idx: idx, ann: refName("sensor:1")})
	cases := []struct {
		want     string
		wantFrom string
	}{
		{"linux/amd64", "linux/amd64"},
		{"linux/arm/v6", "linux/arm/v6"},
		{"linux/arm/v7", "linux/arm/v7"},
		{"linux/arm/v8", "linux/arm/v7"}, // 32-bit userland on an ARMv8 CPU runs v7
		{"linux/arm64", "linux/arm64/v8"},
		{"linux/arm64/v8", "linux/arm64/v8"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			s := newStore(t)
			p, err := ParsePlatform(tc.want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Load(bg, dir, nil, LoadOptions{Platform: p})
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Digest.String() != mustDigest(t, imgs[tc.wantFrom]) {
				t.Fatalf("picked %s (%s), want the %s manifest", got[0].Digest, FormatPlatform(got[0].Platform), tc.wantFrom)
			}
			// Frugal: only the chosen manifest, its config and 2 layers.
			if n := blobCount(t, s); n != 4 {
				t.Errorf("%d blobs stored, want 4", n)
			}
		})
	}
}

func TestLoadMultiArchNoMatchListsPlatforms(t *testing.T) {
	idx, _ := multiArch(t, "linux/arm/v7", "linux/arm64/v8")
	dir := layoutDirWith(t, layoutItem{idx: idx})
	s := newStore(t)
	cases := []string{"linux/arm/v6", "linux/riscv64", "windows/amd64"}
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			p, _ := ParsePlatform(c)
			_, err := s.Load(bg, dir, nil, LoadOptions{Platform: p})
			if !errors.Is(err, ErrNoMatchingPlatform) {
				t.Fatalf("err = %v, want ErrNoMatchingPlatform", err)
			}
			for _, want := range []string{"available: linux/arm/v7, linux/arm64/v8", c, "--platform"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if n := blobCount(t, s); n != 0 {
				t.Errorf("%d blobs visible", n)
			}
			assertClean(t, s)
		})
	}
}

func TestLoadSameImageTwiceIsIdempotent(t *testing.T) {
	s := newStore(t)
	dir := layoutDirWith(t, layoutItem{img: testImage(t, "linux/amd64"), ann: refName("a")})
	for range 2 {
		if _, err := s.Load(bg, dir, nil, LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	imgs, _ := s.List()
	if len(imgs) != 1 || blobCount(t, s) != 4 {
		t.Fatalf("%d images, %d blobs", len(imgs), blobCount(t, s))
	}
	assertClean(t, s)
}

func TestLoadRetagLeavesOldImageAsNone(t *testing.T) {
	s := newStore(t)
	for range 2 {
		dir := layoutDirWith(t, layoutItem{img: testImage(t, "linux/amd64"), ann: refName("app:1")})
		if _, err := s.Load(bg, dir, nil, LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	imgs, _ := s.List()
	if len(imgs) != 2 || len(imgs[0].Names) != 1 || len(imgs[1].Names) != 0 {
		t.Fatalf("want one named and one <none> image, got %+v", imgs)
	}
}

func TestConcurrentLoadsAndPrune(t *testing.T) {
	s := newStore(t)
	archive := tarDir(t, layoutDirWith(t, layoutItem{img: testImage(t, "linux/amd64"), ann: refName("same:1")}), true, false)
	errs := make(chan error, 5)
	for range 4 {
		go func() {
			_, err := s.Load(bg, "-", bytes.NewReader(archive), LoadOptions{})
			errs <- err
		}()
	}
	go func() {
		_, _, err := s.Prune(bg)
		errs <- err
	}()
	for range 5 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	img, err := s.Get("same:1")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range s.Layers(img) {
		if !s.HasBlob(l.Desc.Digest) {
			t.Fatalf("layer %s lost", l.Desc.Digest)
		}
	}
	if n := blobCount(t, s); n != 4 {
		t.Fatalf("%d blobs, want 4", n)
	}
	assertClean(t, s)
}

func TestLoadBeforeTagErrorLeavesNoName(t *testing.T) {
	img := testImage(t, "linux/amd64")
	dir := layoutDirWith(t, layoutItem{img: img, ann: refName("sensor:1.2")})
	s := newStore(t)
	refused := errors.New("layer refused")
	var seen *Image
	_, err := s.Load(bg, dir, nil, LoadOptions{BeforeTag: func(_ context.Context, im *Image) error {
		seen = im
		return refused
	}})
	if !errors.Is(err, refused) {
		t.Fatalf("Load error %v, want the hook's error", err)
	}
	if seen == nil || len(s.Layers(seen)) != 2 {
		t.Fatalf("hook saw %+v, want the image with its 2 layers", seen)
	}
	if imgs, _ := s.List(); len(imgs) != 0 {
		t.Fatalf("a refused image is listed: %+v", imgs[0])
	}
	if _, err := s.Get("sensor:1.2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of the refused name: %v, want ErrNotFound", err)
	}
	// The hook passing names the image.
	if _, err := s.Load(bg, dir, nil, LoadOptions{BeforeTag: func(context.Context, *Image) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("sensor:1.2"); err != nil {
		t.Fatal(err)
	}
}
