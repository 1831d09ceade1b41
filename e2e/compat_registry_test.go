package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// fakeRegistry is go-containerregistry's registry (in memory, in the test
// process) behind a front that plays a real registry's refusals, by the
// repository's first path component:
//
//	private/  needs basic authentication as alice:s3cret (so does /v2/,
//	          where login checks the credentials)
//	denied/   403 DENIED, whoever asks
//	corrupt/  blobs with their last byte changed
//	huge/     a manifest of 5 MiB
//
// Every other repository is public. busybox is pushed as private/busybox:1,
// corrupt/busybox:1 and public/busybox:1, the multi-platform sensor as
// public/sensor:1 and corrupt/sensor:1.
type fakeRegistry struct {
	host string
}

const (
	fakeUser     = "alice"
	fakePassword = "s3cret"
)

func startFakeRegistry(t *testing.T) *fakeRegistry {
	t.Helper()
	store := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	back := httptest.NewServer(store)
	t.Cleanup(back.Close)
	front := httptest.NewServer(fakeFront(store))
	t.Cleanup(front.Close)

	img := busyboxImage(t)
	for _, repo := range []string{"private/busybox:1", "corrupt/busybox:1", "public/busybox:1"} {
		push(t, back, repo, func(ref name.Reference) error { return remote.Write(ref, img) })
	}
	idx, err := layout.ImageIndexFromPath(imagePath(t, "sensor"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("the sensor layout holds %d manifests (%v), want its one index", len(m.Manifests), err)
	}
	multi, err := idx.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"public/sensor:1", "corrupt/sensor:1"} {
		push(t, back, repo, func(ref name.Reference) error { return remote.WriteIndex(ref, multi) })
	}
	return &fakeRegistry{host: strings.TrimPrefix(front.URL, "http://")}
}

func push(t *testing.T, srv *httptest.Server, repo string, write func(name.Reference) error) {
	t.Helper()
	ref, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://")+"/"+repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(ref); err != nil {
		t.Fatalf("push %s: %v", repo, err)
	}
}

// fakeFront answers as the fakeRegistry's doc says, passing the rest to
// the registry.
func fakeFront(store http.Handler) http.Handler {
	huge := []byte(`{"schemaVersion":2,"padding":"` + strings.Repeat("x", 5<<20) + `"}`)
	sum := sha256.Sum256(huge)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repo, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/")
		switch {
		case (r.URL.Path == "/v2/" || repo == "private") && !fakeAuthorized(r):
			w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
			registryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		case repo == "denied":
			registryError(w, http.StatusForbidden, "DENIED", "requested access to the resource is denied")
		case repo == "huge" && strings.Contains(r.URL.Path, "/manifests/"):
			w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
			if r.Method == http.MethodGet {
				_, _ = w.Write(huge)
			}
		case repo == "corrupt" && strings.Contains(r.URL.Path, "/blobs/") && r.Method == http.MethodGet:
			rec := httptest.NewRecorder()
			store.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if len(body) > 0 {
				body[len(body)-1] ^= 0xff
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		default:
			store.ServeHTTP(w, r)
		}
	})
}

func fakeAuthorized(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	return ok && u == fakeUser && p == fakePassword
}

func registryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"errors":[{"code":"` + code + `","message":"` + msg + `"}]}`))
}

// TestCompatLoginPullLogout: login (password on standard input, or -p)
// stores credentials where docker finds them, pull uses them, logout
// removes them.
func TestCompatLoginPullLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reg := startFakeRegistry(t)
	cfg := filepath.Join(e.base, "docker")
	e.extraEnv = append(e.extraEnv, "DOCKER_CONFIG="+cfg)
	ref := reg.host + "/private/busybox:1"
	if r := e.run("pull", "-q", ref); r.code == 0 {
		t.Fatalf("pull of a private image without credentials: %s", r)
	}
	r := e.runIn([]byte(fakePassword+"\n"), "login", "-u", fakeUser, "--password-stdin", reg.host)
	if r.code != 0 || r.stdout != "Login Succeeded ("+reg.host+")\n" {
		t.Fatalf("login --password-stdin: %s", r)
	}
	if b, err := os.ReadFile(filepath.Join(cfg, "config.json")); err != nil || !strings.Contains(string(b), `"`+reg.host+`"`) {
		t.Fatalf("config.json after login: %s (%v)", b, err)
	}
	e.must("pull", "-q", ref)
	if out := e.must("run", "--rm", "--pull", "never", ref, "echo", "pulled"); out != "pulled\n" {
		t.Errorf("run of the image pulled with credentials: %q", out)
	}
	if r := e.run("logout", reg.host); r.code != 0 || r.stdout != "Removing login credentials for "+reg.host+"\n" {
		t.Errorf("logout: %s", r)
	}
	if b, _ := os.ReadFile(filepath.Join(cfg, "config.json")); strings.Contains(string(b), reg.host) {
		t.Errorf("config.json after logout still names %s: %s", reg.host, b)
	}
	if r := e.run("pull", "-q", ref); r.code == 0 {
		t.Errorf("pull after logout: %s", r)
	}
	if r := e.run("login", "--username", fakeUser, "--password", fakePassword, reg.host); r.code != 0 || r.stdout != "Login Succeeded ("+reg.host+")\n" {
		t.Errorf("login --username --password: %s", r)
	}
	e.must("rmi", ref)
}
