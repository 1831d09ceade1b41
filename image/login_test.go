package image

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestLoginThenPullWithStoredCredentials logs in (writing config.json the
// way docker does), pulls with the default keychain, and logs out.
func TestLoginThenPullWithStoredCredentials(t *testing.T) {
	home := t.TempDir()
	dir := filepath.Join(home, ".docker")
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", dir)
	var issued atomic.Int32
	reg := startRegistry(t, tokenAuth(&issued))
	ref := reg.host + "/test/app:v1"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, bigImage(t, 1000), remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"})); err != nil {
		t.Fatal(err)
	}

	_, err := Login(bg, RegistryConfig{}, dir, reg.host, "alice", "wrong")
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("login with a wrong password: err = %v, want ErrUnauthorized", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		t.Fatal("refused credentials were stored")
	}
	key, err := Login(bg, RegistryConfig{}, dir, reg.host, "alice", "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil || !strings.Contains(string(b), `"`+reg.host+`"`) || !strings.Contains(string(b), `"auth"`) {
		t.Fatalf("config.json after login: %s (%v)", b, err)
	}
	if key != reg.host {
		t.Errorf("stored under %q, want %q", key, reg.host)
	}
	s := newStore(t)
	if _, err := s.Pull(bg, ref, PullOptions{Backoff: time.Millisecond}); err != nil {
		t.Fatalf("pull with the stored credentials: %v", err)
	}
	if _, err := Logout(dir, reg.host); err != nil {
		t.Fatal(err)
	}
	if _, err := Logout(dir, reg.host); !errors.Is(err, ErrNotLoggedIn) {
		t.Fatalf("second logout: err = %v, want ErrNotLoggedIn", err)
	}
	if _, err := newStore(t).Pull(bg, ref, PullOptions{Backoff: time.Millisecond}); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("pull after logout: err = %v, want ErrUnauthorized", err)
	}
}

func TestLoginSendsNoPasswordOverPlainHTTPUnlessAllowed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".docker")
	reg := startRegistry(t, nil) // plain HTTP
	for _, host := range []string{"registry.test", "10.0.0.6:5000", "registry.local"} {
		_, err := Login(bg, RegistryConfig{Transport: reg.dialAnyHost()}, dir, host, "alice", "s3cret")
		if err == nil || !strings.Contains(err.Error(), "--insecure-registry") {
			t.Fatalf("login to %s over plain HTTP: err = %v, want a refusal naming --insecure-registry", host, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
			t.Fatalf("credentials for %s stored after a refused login", host)
		}
	}
	if _, err := Login(bg, RegistryConfig{Transport: reg.dialAnyHost(), Insecure: []string{"10.0.0.6:5000"}}, dir, "10.0.0.6:5000", "alice", "s3cret"); err != nil {
		t.Fatalf("login to an --insecure-registry: %v", err)
	}
}

func TestRegistryKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", authn.DefaultAuthKey},
		{"docker.io", authn.DefaultAuthKey},
		{"https://index.docker.io/v1/", authn.DefaultAuthKey},
		{"ghcr.io", "ghcr.io"},
		{"localhost:5000", "localhost:5000"},
		{"https://reg.local:5000/", "reg.local:5000"},
	}
	for _, tc := range tests {
		got, _, err := registryKey(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("registryKey(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
