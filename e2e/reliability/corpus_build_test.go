package reliability

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// The builders of the hostile-input corpus (corpus_test.go): tar entries,
// layers and whole OCI archives, made at test time so that no hostile
// binary is committed and every input says in Go what it is.

// ent is one tar entry.
type ent struct {
	name, body, link string
	kind             byte // tar type; 0 is a regular file
	mode             int64
	major, minor     int64
}

func entFile(name, body string) ent  { return ent{name: name, body: body} }
func entDir(name string) ent         { return ent{name: name, kind: tar.TypeDir, mode: 0o755} }
func entSymlink(name, to string) ent { return ent{name: name, link: to, kind: tar.TypeSymlink} }
func entHardlink(name, to string) ent {
	return ent{name: name, link: to, kind: tar.TypeLink}
}
func entChardev(name string, major, minor int64) ent {
	return ent{name: name, kind: tar.TypeChar, major: major, minor: minor}
}

// tarOf builds an uncompressed tar stream.
func tarOf(t *testing.T, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.kind, Mode: e.mode, Devmajor: e.major, Devminor: e.minor}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdOf(t *testing.T, b []byte) []byte {
	t.Helper()
	w, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(b, nil)
}

// layer is a layer blob with the media type and diff ID an image gives it.
type layer struct {
	blob      []byte
	mediaType string
	diffID    digest.Digest
}

// plainLayer is an uncompressed layer of entries.
func plainLayer(t *testing.T, ents ...ent) layer {
	b := tarOf(t, ents...)
	return layer{blob: b, mediaType: ocispec.MediaTypeImageLayer, diffID: digest.FromBytes(b)}
}

// gzipLayer is blob as a gzip layer whose diff ID is that of tarStream
// (what the config promises, whatever the blob decompresses to).
func gzipLayer(blob, tarStream []byte) layer {
	return layer{blob: blob, mediaType: ocispec.MediaTypeImageLayerGzip, diffID: digest.FromBytes(tarStream)}
}

// tarFile is one file of an archive.
type tarFile struct {
	name, link string
	body       []byte
	kind       byte
}

func blobFile(b []byte) tarFile {
	return tarFile{name: "blobs/sha256/" + digest.FromBytes(b).Encoded(), body: b}
}

func desc(mt string, b []byte) map[string]any {
	return map[string]any{"mediaType": mt, "digest": digest.FromBytes(b).String(), "size": len(b)}
}

// tweaks alter a valid OCI archive at each stage of its making.
type tweaks struct {
	config   func(map[string]any)
	manifest func(map[string]any)
	index    func(map[string]any)
	files    func([]tarFile) []tarFile
}

// ociArchive is a one-image OCI archive of l for this host's platform,
// named hostile:1, altered by tw; its files are oci-layout, index.json,
// the layer, the config and the manifest, in that order.
func ociArchive(t *testing.T, l layer, tw tweaks) []byte {
	t.Helper()
	cfg := map[string]any{"architecture": runtime.GOARCH, "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{l.diffID.String()}}}
	if tw.config != nil {
		tw.config(cfg)
	}
	cb, _ := json.Marshal(cfg)
	man := map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageManifest,
		"config": desc(ocispec.MediaTypeImageConfig, cb), "layers": []any{desc(l.mediaType, l.blob)}}
	if tw.manifest != nil {
		tw.manifest(man)
	}
	mb, _ := json.Marshal(man)
	top := desc(ocispec.MediaTypeImageManifest, mb)
	top["annotations"] = map[string]string{"org.opencontainers.image.ref.name": "hostile:1"}
	idx := map[string]any{"schemaVersion": 2, "manifests": []any{top}}
	if tw.index != nil {
		tw.index(idx)
	}
	ib, _ := json.Marshal(idx)
	files := []tarFile{
		{name: "oci-layout", body: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{name: "index.json", body: ib},
		blobFile(l.blob), blobFile(cb), blobFile(mb),
	}
	if tw.files != nil {
		files = tw.files(files)
	}
	return archiveOf(t, files)
}

// archiveOf writes files as a tar stream.
func archiveOf(t *testing.T, files []tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Linkname: f.link, Typeflag: f.kind, Mode: 0o644}
		if h.Typeflag == 0 {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tinyLayer is a harmless layer: etc/hostname.
func tinyLayer(t *testing.T) layer { return plainLayer(t, entFile("etc/hostname", "gateway\n")) }

func topDesc(idx map[string]any) map[string]any { return idx["manifests"].([]any)[0].(map[string]any) }

// layoutDir unpacks an archive's files into an OCI layout directory.
func layoutDir(t *testing.T, into string, archive []byte) string {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return into
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(into, h.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
