package reliability

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"
)

// host is what a hostile input aims at: a directory standing for the
// host, outside the store, with a file in it and a path that does not
// exist yet. Inputs name these by absolute path; nothing there may change.
type host struct {
	dir     string
	secret  string // an existing file
	outside string // a path that does not exist
}

// hostile is one input of the corpus.
type hostile struct {
	name string
	// input writes the input into dir and returns what load -i is given:
	// an archive file or a layout directory.
	input func(t *testing.T, h host, dir string) string
	// contained: by design the input may load (its entries resolve inside
	// the layer); it must still write nothing outside the store.
	contained bool
	want      string // a word the refusal must say ("" for any)
}

// archive is a hostile input written as an archive file.
func archive(build func(t *testing.T, h host) []byte) func(*testing.T, host, string) string {
	return func(t *testing.T, h host, dir string) string {
		p := filepath.Join(dir, "input.tar")
		if err := os.WriteFile(p, build(t, h), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// image is an OCI archive of a valid image altered by tw.
func image(tw tweaks) func(*testing.T, host, string) string {
	return archive(func(t *testing.T, _ host) []byte { return ociArchive(t, tinyLayer(t), tw) })
}

// layerOf is an OCI archive of an image with one layer of entries, which
// may name the host's paths.
func layerOf(f func(h host) []ent) func(*testing.T, host, string) string {
	return archive(func(t *testing.T, h host) []byte { return ociArchive(t, plainLayer(t, f(h)...), tweaks{}) })
}

func layerEntries(e ...ent) func(*testing.T, host, string) string {
	return layerOf(func(host) []ent { return e })
}

// imageCorpus is image/hostile_test.go's hostile archives, loaded whole.
func imageCorpus() []hostile {
	big := strings.Repeat("x", 4<<20+1)
	refuse := func(name, want string, in func(*testing.T, host, string) string) hostile {
		return hostile{name: "archive: " + name, input: in, want: want}
	}
	return []hostile{
		refuse("blob digest mismatch", "hashes to", image(tweaks{files: func(fs []tarFile) []tarFile {
			fs[2].body = []byte("not the layer")
			return fs
		}})),
		refuse("manifest that is also an index", "both", image(tweaks{manifest: func(m map[string]any) {
			m["manifests"] = []any{map[string]any{"mediaType": ocispec.MediaTypeImageManifest, "digest": digest.FromString("x").String(), "size": 1}}
		}})),
		refuse("index that is also a manifest", "both", image(tweaks{index: func(i map[string]any) {
			i["layers"], i["config"] = []any{}, map[string]any{}
		}})),
		refuse("config with a wrong media type", "not an image config", image(tweaks{manifest: func(m map[string]any) {
			m["config"].(map[string]any)["mediaType"] = "application/json"
		}})),
		refuse("layer with a wrong media type", "not a layer", image(tweaks{manifest: func(m map[string]any) {
			m["layers"].([]any)[0].(map[string]any)["mediaType"] = "text/plain"
		}})),
		refuse("top descriptor with the config media type", "image manifest", image(tweaks{index: func(i map[string]any) {
			topDesc(i)["mediaType"] = ocispec.MediaTypeImageConfig
		}})),
		refuse("manifest media type differs from its descriptor", "media type", image(tweaks{manifest: func(m map[string]any) {
			m["mediaType"] = ocispec.MediaTypeImageIndex
		}})),
		refuse("path traversal digest in the index", "digest", image(tweaks{index: func(i map[string]any) {
			topDesc(i)["digest"] = "sha256:../../x"
		}})),
		refuse("path traversal digest of a layer", "digest", image(tweaks{manifest: func(m map[string]any) {
			m["layers"].([]any)[0].(map[string]any)["digest"] = "sha256:../../../etc/passwd"
		}})),
		refuse("sha512 digest", "sha256", image(tweaks{index: func(i map[string]any) {
			topDesc(i)["digest"] = digest.SHA512.FromString("x").String()
		}})),
		refuse("bad blob file name", "blob", image(tweaks{files: func(fs []tarFile) []tarFile {
			return append(fs, tarFile{name: "blobs/sha256/zz", body: []byte("x")})
		}})),
		refuse("missing layer blob", "missing", image(tweaks{files: func(fs []tarFile) []tarFile { return append(fs[:2], fs[3:]...) }})),
		refuse("descriptor size differs from the blob", "descriptor says", image(tweaks{manifest: func(m map[string]any) {
			m["layers"].([]any)[0].(map[string]any)["size"] = 3
		}})),
		refuse("diff IDs do not match the layers", "diff ID", image(tweaks{config: func(c map[string]any) {
			c["rootfs"] = map[string]any{"type": "layers", "diff_ids": []string{}}
		}})),
		refuse("uncompressed layer with a wrong diff ID", "uncompressed layer", image(tweaks{config: func(c map[string]any) {
			c["rootfs"] = map[string]any{"type": "layers", "diff_ids": []string{digest.FromString("other").String()}}
		}})),
		refuse("config without os", "os and architecture", image(tweaks{config: func(c map[string]any) { delete(c, "os") }})),
		refuse("huge manifest", "limit", image(tweaks{manifest: func(m map[string]any) { m["annotations"] = map[string]string{"pad": big} }})),
		refuse("huge config", "limit", image(tweaks{config: func(c map[string]any) { c["pad"] = big }})),
		refuse("huge index.json", "index.json", image(tweaks{index: func(i map[string]any) { i["annotations"] = map[string]string{"pad": big} }})),
		refuse("index lies about the platform", "config says", image(tweaks{index: func(i map[string]any) {
			topDesc(i)["platform"] = map[string]string{"os": "linux", "architecture": "s390x"}
		}})),
		refuse("truncated archive", "", archive(func(t *testing.T, _ host) []byte {
			b := ociArchive(t, tinyLayer(t), tweaks{})
			return b[:len(b)/2+100]
		})),
		refuse("not a tar", "", archive(func(*testing.T, host) []byte { return []byte(strings.Repeat("garbage!", 200)) })),
		refuse("empty input", "", archive(func(*testing.T, host) []byte { return nil })),
		refuse("missing oci-layout", "oci-layout", image(tweaks{files: func(fs []tarFile) []tarFile { return fs[1:] }})),
		refuse("docker manifest.json names a missing layer", "abc/layer.tar", archive(func(t *testing.T, _ host) []byte {
			return archiveOf(t, []tarFile{
				{name: "cfg.json", body: []byte(`{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}`)},
				{name: "manifest.json", body: []byte(`[{"Config":"cfg.json","RepoTags":["a:1"],"Layers":["abc/layer.tar"]}]`)},
			})
		})),
		refuse("docker manifest.json symlink loop", "", archive(func(t *testing.T, _ host) []byte {
			return archiveOf(t, []tarFile{
				{name: "cfg.json", body: []byte(`{}`)},
				{name: "a/layer.tar", kind: '2', link: "../b/layer.tar"},
				{name: "b/layer.tar", kind: '2', link: "../a/layer.tar"},
				{name: "manifest.json", body: []byte(`[{"Config":"cfg.json","Layers":["a/layer.tar"]}]`)},
			})
		})),
	}
}

// issueCorpus is the hostile inputs of issue 12 (bombs, layouts with
// FIFOs, names, nesting, trailing data) and of e2e's hostile images.
func issueCorpus() []hostile {
	refuse := func(name, want string, in func(*testing.T, host, string) string) hostile {
		return hostile{name: name, input: in, want: want}
	}
	zeros := strings.Repeat("\x00", 64<<20) // far beyond the 100:1 ratio and its 16 MiB floor
	return []hostile{
		refuse("gzip bomb: 64 MiB of zeros in 64 KiB", "", archive(func(t *testing.T, _ host) []byte {
			tr := tarOf(t, entFile("zeros", zeros))
			return ociArchive(t, gzipLayer(gzipOf(t, tr), tr), tweaks{})
		})),
		refuse("zstd bomb: 64 MiB of zeros in a few KiB", "", archive(func(t *testing.T, _ host) []byte {
			tr := tarOf(t, entFile("zeros", zeros))
			return ociArchive(t, layer{blob: zstdOf(t, tr), mediaType: ocispec.MediaTypeImageLayerZstd, diffID: digest.FromBytes(tr)}, tweaks{})
		})),
		refuse("image name ../../../etc/evil", "", image(tweaks{index: func(i map[string]any) {
			topDesc(i)["annotations"] = map[string]string{"org.opencontainers.image.ref.name": "../../../etc/evil"}
		}})),
		refuse("10,000 names in one layout", "names", image(tweaks{index: func(i map[string]any) {
			top := topDesc(i)
			var ds []any
			for n := range 10000 {
				d := map[string]any{}
				for k, v := range top {
					d[k] = v
				}
				d["annotations"] = map[string]string{"org.opencontainers.image.ref.name": fmt.Sprintf("n%d:1", n)}
				ds = append(ds, d)
			}
			i["manifests"] = ds
		}})),
		refuse("indexes nested 50 deep", "deep", archive(func(t *testing.T, _ host) []byte {
			var nested []tarFile
			b := ociArchive(t, tinyLayer(t), tweaks{index: func(i map[string]any) {
				top := topDesc(i)
				delete(top, "annotations")
				child, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageIndex, "manifests": []any{top}})
				for range 49 {
					nested = append(nested, blobFile(child))
					d := desc(ocispec.MediaTypeImageIndex, child)
					child, _ = json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageIndex, "manifests": []any{d}})
				}
				nested = append(nested, blobFile(child))
				d := desc(ocispec.MediaTypeImageIndex, child)
				d["annotations"] = map[string]string{"org.opencontainers.image.ref.name": "hostile:1"}
				i["manifests"] = []any{d}
			}, files: func(fs []tarFile) []tarFile { return append(fs, nested...) }})
			return b
		})),
		refuse("data after the end of a gzip archive", "", archive(func(t *testing.T, _ host) []byte {
			return append(gzipOf(t, ociArchive(t, tinyLayer(t), tweaks{})), "TRAILING GARBAGE"...)
		})),
		refuse("layout: a blob is a FIFO", "regular file", func(t *testing.T, _ host, in string) string {
			d := layoutDir(t, filepath.Join(in, "layout"), ociArchive(t, tinyLayer(t), tweaks{}))
			p := filepath.Join(d, "blobs", "sha256", digest.FromBytes(tinyLayer(t).blob).Encoded())
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := unix.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
			return d
		}),
		refuse("layout: a blob is a symlink to a host file", "", func(t *testing.T, h host, in string) string {
			d := layoutDir(t, filepath.Join(in, "layout"), ociArchive(t, tinyLayer(t), tweaks{}))
			p := filepath.Join(d, "blobs", "sha256", digest.FromBytes(tinyLayer(t).blob).Encoded())
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(h.secret, p); err != nil {
				t.Fatal(err)
			}
			return d
		}),
		// e2e's hostile images (hostile_test.go) link /proc, /sys and /etc
		// files to the host; they load (links are only resolved inside the
		// container) and e2e proves what a run of them does.
		{name: "e2e: /proc, /etc/hosts and dev/null link to host paths", contained: true, input: layerOf(func(h host) []ent {
			return []ent{entSymlink("proc", h.dir), entDir("etc"), entSymlink("etc/hosts", h.secret), entDir("dev"), entSymlink("dev/null", h.secret)}
		})},
	}
}

// TestHostileCorpus loads every input of the corpus into a store of its
// own: a hostile one is refused (and names no image), one that is only
// odd may load; either way nothing outside the store is written, and
// after rmi and image prune nothing of it is left: no blob, layer,
// staging or ingest file, and (teardown) no mount, temp file or process.
func TestHostileCorpus(t *testing.T) {
	bin := setup(t)
	corpus := append(append(imageCorpus(), layerCorpus()...), issueCorpus()...)
	start := time.Now()
	var refused, contained int
	t.Run("inputs", func(t *testing.T) {
		for _, c := range corpus {
			if c.contained {
				contained++
			} else {
				refused++
			}
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				loadHostile(newEnv(t, bin), c)
			})
		}
	})
	t.Logf("hostile corpus: %d inputs (%d must be refused, %d may load inside the store), in %v",
		len(corpus), refused, contained, time.Since(start).Round(time.Millisecond))
}

func loadHostile(e *env, c hostile) {
	t := e.t
	h := host{dir: filepath.Join(e.base, "host")}
	h.secret, h.outside = filepath.Join(h.dir, "secret"), filepath.Join(h.dir, "outside")
	if err := os.MkdirAll(h.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.secret, []byte("original\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(e.base, "input")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	src := c.input(t, h, in)
	before := snapshot(t, e.base, e.root, e.state, in)
	r := e.run("load", "-i", src)
	switch {
	case !c.contained && r.code == 0:
		t.Errorf("hostile input loaded: %s", r)
	case !c.contained && !strings.Contains(r.stderr, c.want):
		t.Errorf("refused without saying %q: %s", c.want, r)
	case r.code != 0 && r.stderr == "":
		t.Errorf("refused without a word: %s", r)
	}
	if after := snapshot(t, e.base, e.root, e.state, in); after != before {
		t.Errorf("the load wrote outside its store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if !c.contained {
		if imgs := e.must("images", "-q"); strings.TrimSpace(imgs) != "" {
			t.Errorf("a refused load left images: %s", imgs)
		}
	}
	for _, id := range strings.Fields(e.must("images", "-q")) {
		e.must("rmi", "-f", id)
	}
	e.must("image", "prune")
	for _, d := range []string{"blobs/sha256", "layers/sha256", "layers/staging", "layers/locks", "ingest"} {
		if left := entries(filepath.Join(e.root, d)); len(left) > 0 {
			t.Errorf("after rmi and image prune, %s holds %v", d, left)
		}
	}
}

// snapshot describes every file under dir except the skipped trees: path,
// type, mode, size, content hash or link target.
func snapshot(t *testing.T, dir string, skip ...string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, s := range skip {
			if p == s {
				return filepath.SkipDir
			}
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d", p, fi.Mode(), fi.Size())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(&b, " -> %s", target)
		case fi.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			sum := sha256.Sum256(data)
			fmt.Fprintf(&b, " %s", hex.EncodeToString(sum[:8]))
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
