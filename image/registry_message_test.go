package image

import (
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// hubStyleDenial answers every manifest request 401 the way Docker Hub
// does for a private or missing repository: a diagnostic whose detail is a
// list of objects (go-containerregistry prints it as a Go map).
func hubStyleDenial(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required",` +
				`"detail":[{"Type":"repository","Class":"","Name":"busybox","Action":"pull"}]}]}`))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestRegistryErrorsAreSentences: a refusal says what was refused, for
// which image, and what to do, and never prints a Go value.
func TestRegistryErrorsAreSentences(t *testing.T) {
	goValue := []string{"map[", "[]", "{"}
	check := func(t *testing.T, err error, is error, says ...string) {
		t.Helper()
		if !errors.Is(err, is) {
			t.Fatalf("err = %v, want %v", err, is)
		}
		msg := err.Error()
		t.Log(msg)
		for _, g := range goValue {
			if strings.Contains(msg, g) {
				t.Errorf("err = %q prints a Go value (%q)", msg, g)
			}
		}
		for _, s := range says {
			if !strings.Contains(msg, s) {
				t.Errorf("err = %q, want it to say %q", msg, s)
			}
		}
	}
	t.Run("pull refused", func(t *testing.T) {
		reg := startRegistry(t, hubStyleDenial)
		ref := reg.host + "/library/busybox:latest"
		_, err := newStore(t).Pull(bg, ref, pullOpts(PullOptions{}))
		check(t, err, ErrUnauthorized, "library/busybox:latest", "edgerun login "+reg.host,
			"authentication required")
	})
	t.Run("pull token refused", func(t *testing.T) {
		var issued atomic.Int32
		reg := startRegistry(t, tokenAuth(&issued))
		ref := reg.host + "/test/app:v1"
		wrong := &authn.Basic{Username: "alice", Password: "nope"}
		_, err := newStore(t).Pull(bg, ref, pullOpts(PullOptions{Registry: RegistryConfig{Keychain: staticKeychain{wrong}}}))
		check(t, err, ErrUnauthorized, "test/app:v1", "edgerun login "+reg.host)
	})
	t.Run("login with a wrong password", func(t *testing.T) {
		var issued atomic.Int32
		reg := startRegistry(t, tokenAuth(&issued))
		r, _ := name.ParseReference(reg.host + "/test/app:v1")
		if err := remote.Write(r, bigImage(t, 100), remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"})); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), ".docker")
		_, err := Login(bg, RegistryConfig{}, dir, reg.host, "alice", "wrong")
		check(t, err, ErrUnauthorized, reg.host+" refused the user name or password")
		if strings.Contains(err.Error(), "run edgerun login") {
			t.Errorf("err = %q tells a failed login to log in", err)
		}
	})
	t.Run("login with a wrong password, basic auth", func(t *testing.T) {
		reg := startRegistry(t, basicAuth("alice", "s3cret"))
		dir := filepath.Join(t.TempDir(), ".docker")
		_, err := Login(bg, RegistryConfig{}, dir, reg.host, "alice", "wrong")
		check(t, err, ErrUnauthorized, reg.host+" refused the user name or password")
	})
}

// basicAuth is a registry that takes HTTP basic authentication.
func basicAuth(user, password string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
