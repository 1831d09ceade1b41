package image

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// tokenAuth is a registry's bearer-token flow: /v2/ answers 401 with a
// Bearer challenge, /token trades alice's password for a token.
func tokenAuth(issued *atomic.Int32) func(http.Handler) http.Handler {
	const token = "tok-8f3a"
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				u, p, ok := r.BasicAuth()
				if !ok || u != "alice" || p != "s3cret" {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				issued.Add(1)
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"token":%q}`, token)
				return
			}
			if r.Header.Get("Authorization") != "Bearer "+token {
				w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, r.Host))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestPullTokenAuth(t *testing.T) {
	var issued atomic.Int32
	reg := startRegistry(t, tokenAuth(&issued))
	img := bigImage(t, 4096)
	ref := reg.host + "/test/app:v1"
	r, _ := name.ParseReference(ref)
	alice := &authn.Basic{Username: "alice", Password: "s3cret"}
	if err := remote.Write(r, img, remote.WithAuth(alice)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		auth authn.Authenticator
		want error
	}{
		{"good password", alice, nil},
		{"wrong password", &authn.Basic{Username: "alice", Password: "nope"}, ErrUnauthorized},
		{"no credentials", authn.Anonymous, ErrUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			before := issued.Load()
			_, err := s.Pull(bg, ref, pullOpts(PullOptions{Registry: RegistryConfig{Keychain: staticKeychain{tc.auth}}}))
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				if issued.Load() == before {
					t.Fatal("pulled without a token from the token server")
				}
				if _, err := s.Get(ref); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestExplainNetError(t *testing.T) {
	future := &x509.Certificate{NotBefore: time.Now().Add(24 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour)}
	past := &x509.Certificate{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}
	tests := []struct {
		name string
		err  error
		is   error
		says string
	}{
		{"unknown host", &net.DNSError{Err: "no such host", Name: "reg.example", IsNotFound: true}, ErrRegistry,
			"registry error: registry host reg.example:5000 not found: check the image name and the network's DNS: lookup reg.example: no such host"},
		{"clock before certificate", x509.CertificateInvalidError{Cert: future, Reason: x509.Expired}, ErrClock, "system clock is wrong"},
		{"expired certificate", x509.CertificateInvalidError{Cert: past, Reason: x509.Expired}, nil, "has expired"},
		{"unknown CA", x509.UnknownAuthorityError{}, nil, "--tls-ca"},
		{"refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, ErrRegistry, "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := (&RegistryConfig{}).explainNetError("reg.example:5000", tc.err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("err = %q, want it to say %q", err, tc.says)
			}
		})
	}
}

func TestPlainHTTPOnlyForLoopbackAndInsecure(t *testing.T) {
	c := RegistryConfig{Insecure: []string{"10.0.0.5:5000"}}
	tests := []struct {
		host  string
		plain bool
	}{
		{"localhost:5000", true},
		{"127.0.0.1:5000", true},
		{"[::1]:5000", true},
		{"10.0.0.5:5000", true},
		{"10.0.0.6:5000", false}, // RFC 1918 is not enough
		{"192.168.1.2", false},
		{"ghcr.io", false},
	}
	for _, tc := range tests {
		if got := c.plainAllowed(tc.host); got != tc.plain {
			t.Errorf("plainAllowed(%s) = %v, want %v", tc.host, got, tc.plain)
		}
		g := &httpsGuard{inner: http.DefaultTransport, host: tc.host, plain: c.plainAllowed(tc.host)}
		req, _ := http.NewRequest(http.MethodGet, "http://"+tc.host+"/v2/", nil)
		if !tc.plain {
			resp, err := g.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "--insecure-registry") {
				t.Errorf("plain HTTP to %s: err = %v, want a refusal", tc.host, err)
			}
		}
	}
}

func TestMirrorsTriedFirstForDockerHub(t *testing.T) {
	mirror := startRegistry(t, nil)
	img := bigImage(t, 1000)
	mirror.push(t, "library/sensor:1", img)
	s := newStore(t)
	res, err := s.Pull(bg, "sensor:1", pullOpts(PullOptions{Registry: RegistryConfig{
		Keychain: noAuth,
		Mirrors:  []string{"http://" + mirror.host},
	}}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest.String() != mustDigest(t, img) || res.Name != "docker.io/library/sensor:1" {
		t.Fatalf("pulled %s as %s", res.Digest, res.Name)
	}
}
