package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
)

// cutAfter drops the connection of the first `times` GETs of blob d after
// n body bytes: a gateway's link going down mid-layer.
func cutAfter(d string, n int64, times int32) func(http.Handler) http.Handler {
	var left atomic.Int32
	left.Store(times)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			bd, ok := blobDigest(r)
			if !ok || bd != d || r.Method != http.MethodGet || left.Add(-1) < 0 {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(&cutWriter{ResponseWriter: w, left: n}, r)
		})
	}
}

type cutWriter struct {
	http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if int64(len(b)) >= c.left {
		_, _ = c.ResponseWriter.Write(b[:c.left]) // the connection is cut next anyway
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // closes the connection mid-body
	}
	c.left -= int64(len(b))
	return c.ResponseWriter.Write(b)
}

// rewriteBlob passes every GET of blob d through fn (corruption, extra
// bytes), until the returned switch is turned off.
func rewriteBlob(d string, fn func([]byte) []byte) (func(http.Handler) http.Handler, *atomic.Bool) {
	var on atomic.Bool
	on.Store(true)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			bd, ok := blobDigest(r)
			if !ok || bd != d || !on.Load() {
				next.ServeHTTP(w, r)
				return
			}
			rec := &bufWriter{header: http.Header{}}
			next.ServeHTTP(rec, r)
			body := fn(rec.buf.Bytes())
			for k, v := range rec.header {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.code)
			_, _ = w.Write(body) // the client may hang up early: it checks what it got
		})
	}, &on
}

type bufWriter struct {
	header http.Header
	code   int
	buf    bytes.Buffer
}

func (b *bufWriter) Header() http.Header         { return b.header }
func (b *bufWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }
func (b *bufWriter) WriteHeader(code int)        { b.code = code }

func TestPullResumesDroppedConnection(t *testing.T) {
	img := bigImage(t, 2<<20)
	d := layerDigests(t, img)[0]
	reg := startRegistry(t, cutAfter(d, 700_000, 2))
	ref := reg.push(t, "test/app:v1", img)
	size := layerSize(t, img, 0)

	s := newStore(t)
	var retries atomic.Int32
	res, err := s.Pull(bg, ref, pullOpts(PullOptions{Events: func(e PullEvent) {
		if e.Kind == PullRetry {
			retries.Add(1)
		}
	}}))
	if err != nil {
		t.Fatal(err)
	}
	if retries.Load() != 2 {
		t.Errorf("%d retries reported, want 2", retries.Load())
	}
	served := reg.servedBytes(d)
	t.Logf("layer of %d bytes: served %d, ranges %q", size, served, reg.ranges)
	// Each cut loses at most what was in flight; resuming must not fetch
	// the layer again from the start.
	if refetched := served - size; refetched < 0 || refetched > 64<<10 {
		t.Fatalf("served %d bytes for a %d-byte layer: %d fetched twice", served, size, refetched)
	}
	if !hasRange(reg.ranges, "bytes=") {
		t.Fatalf("no Range request among %q", reg.ranges)
	}
	if res.Received < size {
		t.Errorf("received %d bytes, less than the %d-byte layer", res.Received, size)
	}
	assertClean(t, s)
}

func TestPullResumesPartialBlobOfEarlierPull(t *testing.T) {
	img := bigImage(t, 2<<20)
	d := layerDigests(t, img)[0]
	reg := startRegistry(t, cutAfter(d, 1_000_000, 1))
	ref := reg.push(t, "test/app:v1", img)
	size := layerSize(t, img, 0)

	s := newStore(t)
	_, err := s.Pull(bg, ref, pullOpts(PullOptions{Attempts: 1}))
	if err == nil || !strings.Contains(err.Error(), "connection lost") || !strings.Contains(err.Error(), "pull again to resume") {
		t.Fatalf("first pull: err = %v, want a lost connection", err)
	}
	dg := digest.Digest(d)
	if s.HasBlob(dg) {
		t.Fatal("a partial layer is visible in blobs/")
	}
	fi, err := os.Stat(filepath.Join(s.ingestDir(), dg.Encoded()))
	if err != nil || fi.Size() == 0 {
		t.Fatalf("partial blob not kept for resuming: %v", err)
	}
	if _, err := s.Get(ref); !errors.Is(err, ErrNotFound) {
		t.Fatalf("image named after a failed pull: %v", err)
	}
	res, err := s.Pull(bg, ref, pullOpts(PullOptions{}))
	if err != nil {
		t.Fatalf("second pull: %v", err)
	}
	if res.Resumed != fi.Size() {
		t.Errorf("resumed %d bytes, want %d", res.Resumed, fi.Size())
	}
	if served := reg.servedBytes(d); served-size > 64<<10 {
		t.Fatalf("served %d bytes for a %d-byte layer", served, size)
	}
	assertClean(t, s)
}

func TestPullRestartsWhenRangeIgnored(t *testing.T) {
	img := bigImage(t, 1<<20)
	d := layerDigests(t, img)[0]
	cut := cutAfter(d, 300_000, 1)
	noRange := func(next http.Handler) http.Handler {
		return cut(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Del("Range")
			next.ServeHTTP(w, r)
		}))
	}
	reg := startRegistry(t, noRange)
	ref := reg.push(t, "test/app:v1", img)
	s := newStore(t)
	if _, err := s.Pull(bg, ref, pullOpts(PullOptions{})); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ref); err != nil {
		t.Fatal(err)
	}
	assertClean(t, s)
}

func TestPullRefusesBadBlobs(t *testing.T) {
	tests := []struct {
		name string
		fn   func([]byte) []byte
	}{
		{"corrupted", func(b []byte) []byte { c := bytes.Clone(b); c[len(c)/2] ^= 0xff; return c }},
		{"longer than descriptor", func(b []byte) []byte { return append(bytes.Clone(b), "trailing junk"...) }},
		{"shorter", func(b []byte) []byte { return b[:len(b)-10] }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := bigImage(t, 64<<10)
			d := layerDigests(t, img)[0]
			mw, on := rewriteBlob(d, tc.fn)
			reg := startRegistry(t, mw)
			ref := reg.push(t, "test/app:v1", img)
			s := newStore(t)
			_, err := s.Pull(bg, ref, pullOpts(PullOptions{Attempts: 2}))
			if !errors.Is(err, ErrDigestMismatch) && !strings.Contains(err.Error(), "closed after") {
				t.Fatalf("err = %v, want a refused blob", err)
			}
			if s.HasBlob(digest.Digest(d)) {
				t.Fatal("bad blob visible in blobs/")
			}
			if _, err := s.Get(ref); !errors.Is(err, ErrNotFound) {
				t.Fatalf("image named: %v", err)
			}
			on.Store(false)
			if _, err := s.Pull(bg, ref, pullOpts(PullOptions{})); err != nil {
				t.Fatalf("pull after the registry is fixed: %v", err)
			}
			assertClean(t, s)
		})
	}
}

func TestPullRefusesHugeManifest(t *testing.T) {
	reg := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/manifests/huge") {
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				_, _ = w.Write(bytes.Repeat([]byte(" "), 5<<20)) // the client stops reading at its limit
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	s := newStore(t)
	_, err := s.Pull(bg, reg.host+"/test/app:huge", pullOpts(PullOptions{}))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestPullRefusesIndexWhereManifestExpected(t *testing.T) {
	reg := startRegistry(t, nil)
	inner, _ := multiArch(t, "linux/amd64", "linux/arm64")
	innerRef := reg.push(t, "test/app:inner", inner)
	raw, err := inner.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	hp := HostPlatform()
	outer := map[string]any{
		"schemaVersion": 2,
		"mediaType":     types.OCIImageIndex,
		"manifests": []map[string]any{{
			"mediaType": types.OCIManifestSchema1, // says manifest, is an index
			"digest":    digest.FromBytes(raw).String(),
			"size":      len(raw),
			"platform":  map[string]string{"os": hp.OS, "architecture": hp.Architecture, "variant": hp.Variant},
		}},
	}
	b, _ := json.Marshal(outer)
	r, _ := name.ParseReference(strings.Replace(innerRef, ":inner", ":outer", 1))
	if err := remote.Put(r, rawManifest{b, types.OCIImageIndex}); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	_, err = s.Pull(bg, r.String(), pullOpts(PullOptions{}))
	if !errors.Is(err, ErrInvalidImage) || !strings.Contains(err.Error(), "where an image manifest was expected") {
		t.Fatalf("err = %v, want an index refused where a manifest was expected", err)
	}
}

type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.b, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

func layerSize(t testing.TB, img v1.Image, i int) int64 {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Layers[i].Size
}

func hasRange(rs []string, prefix string) bool {
	for _, r := range rs {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}

func TestPullRestartsAPartialBlobLongerThanTheLayer(t *testing.T) {
	img := bigImage(t, 64<<10)
	d := digest.Digest(layerDigests(t, img)[0])
	reg := startRegistry(t, nil)
	ref := reg.push(t, "test/app:v1", img)
	s := newStore(t)
	junk := bytes.Repeat([]byte("x"), int(layerSize(t, img, 0))+100)
	if err := os.WriteFile(filepath.Join(s.ingestDir(), d.Encoded()), junk, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(bg, ref, pullOpts(PullOptions{})); err != nil {
		t.Fatalf("pull over a partial file longer than the layer: %v", err)
	}
	assertClean(t, s)
}

func TestPullRestartsACorruptPartialBlob(t *testing.T) {
	img := bigImage(t, 64<<10)
	d := digest.Digest(layerDigests(t, img)[0])
	reg := startRegistry(t, nil)
	ref := reg.push(t, "test/app:v1", img)
	s := newStore(t)
	if err := os.WriteFile(filepath.Join(s.ingestDir(), d.Encoded()), []byte("not the layer's first bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pull(bg, ref, pullOpts(PullOptions{})); err != nil {
		t.Fatalf("pull over a corrupt partial file: %v", err)
	}
	if !s.HasBlob(d) {
		t.Fatal("layer not stored")
	}
	assertClean(t, s)
}
