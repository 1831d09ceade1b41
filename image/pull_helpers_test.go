package image

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRegistry is ggcr's in-memory registry on loopback, behind an
// optional middleware, counting the blob bytes it serves.
type testRegistry struct {
	host string
	mu   sync.Mutex
	// served counts body bytes of blob GETs by digest; ranges lists the
	// Range headers blob GETs carried.
	served map[string]int64
	ranges []string
}

func startRegistry(t testing.TB, mw func(http.Handler) http.Handler) *testRegistry {
	t.Helper()
	tr := &testRegistry{served: map[string]int64{}}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if mw != nil {
		h = mw(h)
	}
	srv := httptest.NewServer(tr.count(h))
	t.Cleanup(srv.Close)
	tr.host = strings.TrimPrefix(srv.URL, "http://")
	return tr
}

func (tr *testRegistry) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := blobDigest(r)
		if !ok || r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		tr.mu.Lock()
		tr.ranges = append(tr.ranges, r.Header.Get("Range"))
		tr.mu.Unlock()
		cw := &countWriter{ResponseWriter: w}
		defer func() {
			tr.mu.Lock()
			tr.served[d] += cw.n
			tr.mu.Unlock()
		}()
		next.ServeHTTP(cw, r)
	})
}

// dialAnyHost is a transport that reaches this registry whatever host a
// request names, so tests can use names that are not loopback without
// sending a packet elsewhere.
func (tr *testRegistry) dialAnyHost() *http.Transport {
	return &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, tr.host)
	}}
}

func (tr *testRegistry) servedBytes(d string) int64 {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.served[d]
}

// blobDigest returns the digest of a /v2/<repo>/blobs/<digest> request.
func blobDigest(r *http.Request) (string, bool) {
	i := strings.LastIndex(r.URL.Path, "/blobs/")
	if i < 0 || !strings.HasPrefix(r.URL.Path, "/v2/") {
		return "", false
	}
	d := r.URL.Path[i+len("/blobs/"):]
	return d, strings.HasPrefix(d, "sha256:")
}

type countWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

func (c *countWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// push writes img (a v1.Image or v1.ImageIndex) to the registry as ref
// (a repository:tag under the registry) and returns the full reference.
func (tr *testRegistry) push(t testing.TB, ref string, img any) string {
	t.Helper()
	full := tr.host + "/" + ref
	r, err := name.ParseReference(full)
	if err != nil {
		t.Fatal(err)
	}
	switch x := img.(type) {
	case v1.Image:
		err = remote.Write(r, x)
	case v1.ImageIndex:
		err = remote.WriteIndex(r, x)
	}
	if err != nil {
		t.Fatalf("push %s: %v", full, err)
	}
	return full
}

// bigImage is a single-platform image for this host with layers of the
// given sizes (random, incompressible, gzip-compressed).
func bigImage(t testing.TB, sizes ...int64) v1.Image {
	t.Helper()
	return imageFor(t, HostPlatform(), sizes...)
}

func layerDigests(t testing.TB, img v1.Image) []string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d.String())
	}
	return out
}

// noAuth is a keychain without credentials (the tests must not read the
// user's ~/.docker/config.json).
type staticKeychain struct{ auth authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.auth, nil }

var noAuth = staticKeychain{authn.Anonymous}

// pullOpts fills in what every test pull uses where o leaves it zero: no
// user credentials, fast retries.
func pullOpts(o PullOptions) PullOptions {
	if o.Registry.Keychain == nil {
		o.Registry.Keychain = noAuth
	}
	if o.Backoff == 0 {
		o.Backoff = time.Millisecond
	}
	return o
}
