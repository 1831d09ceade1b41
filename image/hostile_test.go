package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

type tarFile struct {
	name     string
	body     []byte
	typeflag byte
	linkname string
}

func tarOf(t testing.TB, files []tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		tf := f.typeflag
		if tf == 0 {
			tf = tar.TypeReg
		}
		hdr := &tar.Header{Name: f.name, Mode: 0o644, Typeflag: tf, Linkname: f.linkname}
		if tf == tar.TypeReg {
			hdr.Size = int64(len(f.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func blobFile(b []byte) tarFile {
	return tarFile{name: "blobs/sha256/" + digest.FromBytes(b).Encoded(), body: b}
}

func desc(mt string, b []byte) map[string]any {
	return map[string]any{"mediaType": mt, "digest": digest.FromBytes(b).String(), "size": len(b)}
}

// tweaks alter a valid hand-built OCI archive at each stage.
type tweaks struct {
	config   func(map[string]any)
	manifest func(map[string]any)
	index    func(map[string]any)
	files    func([]tarFile) []tarFile
}

func tinyLayer(t testing.TB) []byte {
	t.Helper()
	return tarOf(t, []tarFile{{name: "etc/hostname", body: []byte("gateway\n")}})
}

func hostileArchive(t testing.TB, tw tweaks) []byte {
	t.Helper()
	layer := tinyLayer(t)
	cfg := map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{digest.FromBytes(layer).String()}}}
	if tw.config != nil {
		tw.config(cfg)
	}
	cb, _ := json.Marshal(cfg)
	man := map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageManifest,
		"config": desc(ocispec.MediaTypeImageConfig, cb), "layers": []any{desc(ocispec.MediaTypeImageLayer, layer)}}
	if tw.manifest != nil {
		tw.manifest(man)
	}
	mb, _ := json.Marshal(man)
	top := desc(ocispec.MediaTypeImageManifest, mb)
	top["annotations"] = map[string]string{annotationRefName: "hostile:1"}
	idx := map[string]any{"schemaVersion": 2, "manifests": []any{top}}
	if tw.index != nil {
		tw.index(idx)
	}
	ib, _ := json.Marshal(idx)
	files := []tarFile{
		{name: "oci-layout", body: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{name: "index.json", body: ib},
		blobFile(layer), blobFile(cb), blobFile(mb),
	}
	if tw.files != nil {
		files = tw.files(files)
	}
	return tarOf(t, files)
}

func gzipOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestArchiveEndsThatLoad(t *testing.T) {
	// Concatenated gzip members are one gzip stream (RFC 1952, gzip -d,
	// pigz); zeros after the tar's end are its record padding (GNU tar
	// pads to 10 KiB).
	tarball := hostileArchive(t, tweaks{})
	half := len(tarball) / 2
	for name, input := range map[string][]byte{
		"two gzip members":     append(gzipOf(t, tarball[:half]), gzipOf(t, tarball[half:])...),
		"tar padded to 10 KiB": append(tarball, make([]byte, 10240-len(tarball)%10240)...),
		"gzip of a padded tar": gzipOf(t, append(tarball, make([]byte, 10240)...)),
	} {
		s := newStore(t)
		if _, err := s.Load(bg, "-", bytes.NewReader(input), LoadOptions{}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func topDesc(idx map[string]any) map[string]any { return idx["manifests"].([]any)[0].(map[string]any) }

func TestHostileArchiveValidBaseline(t *testing.T) {
	s := newStore(t)
	got, err := s.Load(bg, "-", bytes.NewReader(hostileArchive(t, tweaks{})), LoadOptions{})
	if err != nil || len(got) != 1 || got[0].Names[0] != "docker.io/library/hostile:1" {
		t.Fatalf("baseline archive must load: %v %+v", err, got)
	}
}

func TestHostileArchives(t *testing.T) {
	big := strings.Repeat("x", DefaultJSONLimit+1)
	cases := []struct {
		name    string
		input   func(t testing.TB) []byte
		wantIs  error
		wantMsg string
	}{
		{"blob digest mismatch", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{files: func(fs []tarFile) []tarFile {
				fs[2].body = tarOf(t, []tarFile{{name: "evil", body: []byte("not the layer")}})
				return fs
			}})
		}, ErrDigestMismatch, "hashes to"},
		{"manifest that is also an index", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{manifest: func(m map[string]any) {
				m["manifests"] = []any{map[string]any{"mediaType": ocispec.MediaTypeImageManifest, "digest": digest.FromString("x").String(), "size": 1}}
			}})
		}, ErrInvalidImage, "both"},
		{"index that is also a manifest", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{index: func(i map[string]any) { i["layers"] = []any{}; i["config"] = map[string]any{} }})
		}, ErrInvalidImage, "both"},
		{"config with wrong media type", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{manifest: func(m map[string]any) {
				m["config"].(map[string]any)["mediaType"] = "application/json"
			}})
		}, ErrInvalidImage, "not an image config"},
		{"layer with wrong media type", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{manifest: func(m map[string]any) {
				m["layers"].([]any)[0].(map[string]any)["mediaType"] = "text/plain"
			}})
		}, ErrInvalidImage, "not a layer"},
		{"top descriptor with config media type", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{index: func(i map[string]any) { topDesc(i)["mediaType"] = ocispec.MediaTypeImageConfig }})
		}, ErrInvalidImage, "want an OCI or docker image manifest"},
		{"manifest media type differs from descriptor", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{manifest: func(m map[string]any) { m["mediaType"] = ocispec.MediaTypeImageIndex }})
		}, ErrInvalidImage, "has media type"},
		{"path traversal digest in index", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{index: func(i map[string]any) { topDesc(i)["digest"] = "sha256:../../x" }})
		}, ErrInvalidImage, "bad digest"},
		{"path traversal digest for a layer", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{manifest: func(m map[string]any) {
				m["layers"].([]any)[0].(map[string]any)["digest"] = "sha256:../../../etc/passwd"
			}})
		}, ErrInvalidImage, "bad digest"},
		{"sha512 digest", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{index: func(i map[string]any) { topDesc(i)["digest"] = digest.SHA512.FromString("x").String() }})
		}, ErrInvalidImage, "only sha256"},
		{"bad blob file name", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{files: func(fs []tarFile) []tarFile {
				return append(fs, tarFile{name: "blobs/sha256/zz", body: []byte("x")})
			}})
		}, ErrInvalidImage, "not a blob name"},
		{"missing layer blob", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{files: func(fs []tarFile) []tarFile { return append(fs[:2], fs[3:]...) }})
		}, ErrInvalidImage, "missing from the archive"},
		{"descriptor size differs from blob", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{manifest: func(m map[string]any) {
				m["layers"].([]any)[0].(map[string]any)["size"] = 3
			}})
		}, ErrDigestMismatch, "descriptor says 3"},
		{"diff IDs do not match layer count", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{config: func(c map[string]any) {
				c["rootfs"] = map[string]any{"type": "layers", "diff_ids": []string{}}
			}})
		}, ErrInvalidImage, "0 diff IDs for 1 layers"},
		{"uncompressed layer with wrong diff ID", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{config: func(c map[string]any) {
				c["rootfs"] = map[string]any{"type": "layers", "diff_ids": []string{digest.FromString("other").String()}}
			}})
		}, ErrInvalidImage, "uncompressed layer is"},
		{"config without os", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{config: func(c map[string]any) { delete(c, "os") }})
		}, ErrInvalidImage, "os and architecture"},
		{"huge manifest", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{manifest: func(m map[string]any) { m["annotations"] = map[string]string{"pad": big} }})
		}, ErrTooLarge, "limit"},
		{"huge config", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{config: func(c map[string]any) { c["pad"] = big }})
		}, ErrTooLarge, "limit"},
		{"huge index.json", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{index: func(i map[string]any) { i["annotations"] = map[string]string{"pad": big} }})
		}, ErrTooLarge, "index.json"},
		{"index lies about the platform", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{index: func(i map[string]any) {
				topDesc(i)["platform"] = map[string]string{"os": "linux", "architecture": "arm64"}
			}})
		}, ErrInvalidImage, "but its config says linux/amd64"},
		{"truncated archive", func(t testing.TB) []byte {
			b := hostileArchive(t, tweaks{})
			return b[:len(b)/2+100]
		}, nil, "truncated"},
		{"not a tar", func(t testing.TB) []byte { return bytes.Repeat([]byte("garbage!"), 200) }, ErrUnknownFormat, ""},
		{"empty input", func(t testing.TB) []byte { return nil }, ErrUnknownFormat, "neither index.json"},
		{"missing oci-layout", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{files: func(fs []tarFile) []tarFile { return fs[1:] }})
		}, ErrInvalidImage, "oci-layout"},
		{"ref.name climbing out of the store", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{index: func(i map[string]any) {
				topDesc(i)["annotations"] = map[string]string{annotationRefName: "../../../etc/evil"}
			}})
		}, ErrInvalidImage, "image name annotation"},
		{"RepoTags climbing out of the store", func(t testing.TB) []byte {
			return tarOf(t, []tarFile{
				{name: "cfg.json", body: []byte(`{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}`)},
				{name: "manifest.json", body: []byte(`[{"Config":"cfg.json","RepoTags":["../../../etc/evil:latest"],"Layers":[]}]`)},
			})
		}, ErrInvalidImage, "RepoTags"},
		{"more names than a load takes", func(t testing.TB) []byte {
			return hostileArchive(t, tweaks{index: func(i map[string]any) {
				top := topDesc(i)
				var many []any
				for n := range MaxLoadNames + 1 {
					d := map[string]any{}
					for k, v := range top {
						d[k] = v
					}
					d["annotations"] = map[string]string{annotationRefName: fmt.Sprintf("name%d:1", n)}
					many = append(many, d)
				}
				i["manifests"] = many
			}})
		}, ErrInvalidImage, "at most 1000 names"},
		{"more RepoTags than a load takes", func(t testing.TB) []byte {
			tags := make([]string, MaxLoadNames+1)
			for n := range tags {
				tags[n] = fmt.Sprintf("tag%d:1", n)
			}
			tb, _ := json.Marshal(tags)
			return tarOf(t, []tarFile{
				{name: "cfg.json", body: []byte(`{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}`)},
				{name: "manifest.json", body: []byte(`[{"Config":"cfg.json","RepoTags":` + string(tb) + `,"Layers":[]}]`)},
			})
		}, ErrInvalidImage, "at most 1000 names"},
		{"gzip archive with trailing garbage", func(t testing.TB) []byte {
			return append(gzipOf(t, hostileArchive(t, tweaks{})), "trailing garbage, not gzip"...)
		}, nil, "after the end of its gzip stream"},
		{"gzip archive with a few bytes of garbage", func(t testing.TB) []byte {
			return append(gzipOf(t, hostileArchive(t, tweaks{})), 'x')
		}, nil, "after the end of its gzip stream"},
		{"tar archive with trailing garbage", func(t testing.TB) []byte {
			return append(hostileArchive(t, tweaks{}), "trailing garbage"...)
		}, nil, "after the end of the tar archive"},
		{"docker manifest.json names a missing layer", func(t testing.TB) []byte {
			return tarOf(t, []tarFile{
				{name: "cfg.json", body: []byte(`{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}`)},
				{name: "manifest.json", body: []byte(`[{"Config":"cfg.json","RepoTags":["a:1"],"Layers":["abc/layer.tar"]}]`)},
			})
		}, ErrInvalidImage, "abc/layer.tar"},
		{"docker manifest.json symlink loop", func(t testing.TB) []byte {
			return tarOf(t, []tarFile{
				{name: "cfg.json", body: []byte(`{}`)},
				{name: "a/layer.tar", typeflag: tar.TypeSymlink, linkname: "../b/layer.tar"},
				{name: "b/layer.tar", typeflag: tar.TypeSymlink, linkname: "../a/layer.tar"},
				{name: "manifest.json", body: []byte(`[{"Config":"cfg.json","Layers":["a/layer.tar"]}]`)},
			})
		}, ErrInvalidImage, "not in the archive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			_, err := s.Load(bg, "-", bytes.NewReader(tc.input(t)), LoadOptions{})
			if err == nil {
				t.Fatal("hostile input loaded")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("err = %v, want %v", err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err = %v, want it to mention %q", err, tc.wantMsg)
			}
			if n := blobCount(t, s); n != 0 {
				t.Errorf("%d blobs visible after a rejected load", n)
			}
			if imgs, _ := s.List(); len(imgs) != 0 {
				t.Errorf("images listed after a rejected load: %v", imgs)
			}
			assertClean(t, s)
		})
	}
}
