package image

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// tlsRegistry serves the in-memory registry over TLS with a self-signed
// certificate for registry.test valid from notBefore, and returns a
// transport that dials registry.test:443 to it (no DNS) and the CA file.
func tlsRegistry(t *testing.T, notBefore time.Time) (*http.Transport, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "registry.test"},
		DNSNames: []string{"registry.test"}, NotBefore: notBefore, NotAfter: notBefore.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := srv.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	return tr, ca
}

func TestPullOverTLS(t *testing.T) {
	tr, ca := tlsRegistry(t, time.Now().Add(-time.Hour))
	ref := "registry.test/test/app:v1"
	r, _ := name.ParseReference(ref)
	img := bigImage(t, 2048)
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(ca)
	pool.AppendCertsFromPEM(b)
	push := tr.Clone()
	push.TLSClientConfig = &tls.Config{RootCAs: pool}
	if err := remote.Write(r, img, remote.WithTransport(push)); err != nil {
		t.Fatal(err)
	}
	t.Run("with --tls-ca", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Pull(bg, ref, pullOpts(PullOptions{Registry: RegistryConfig{Keychain: noAuth, Transport: tr, CAFile: ca}})); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unknown authority", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Pull(bg, ref, pullOpts(PullOptions{Registry: RegistryConfig{Keychain: noAuth, Transport: tr}}))
		if err == nil || !strings.Contains(err.Error(), "--tls-ca") {
			t.Fatalf("err = %v, want advice to pass --tls-ca", err)
		}
	})
}

func TestPullBlamesAWrongClock(t *testing.T) {
	// The certificate becomes valid tomorrow: to this machine it is as if
	// its clock were a day behind (a gateway that booted in 1970).
	tr, ca := tlsRegistry(t, time.Now().Add(24*time.Hour))
	s := newStore(t)
	_, err := s.Pull(bg, "registry.test/test/app:v1", pullOpts(PullOptions{Registry: RegistryConfig{Keychain: noAuth, Transport: tr, CAFile: ca}}))
	if !errors.Is(err, ErrClock) || !strings.Contains(err.Error(), "set the clock") {
		t.Fatalf("err = %v, want ErrClock saying to set the clock", err)
	}
}

func TestPullPlainHTTPOnlyWhenAllowed(t *testing.T) {
	reg := startRegistry(t, nil) // plain HTTP
	reg.push(t, "test/app:v1", bigImage(t, 1024))
	// registry.test (not loopback by name) dials the plain server on any port.
	tr := reg.dialAnyHost()
	ref := "registry.test/test/app:v1"
	_, err := newStore(t).Pull(bg, ref, pullOpts(PullOptions{Registry: RegistryConfig{Keychain: noAuth, Transport: tr}, Backoff: time.Hour}))
	if err == nil || !strings.Contains(err.Error(), "pass --insecure-registry registry.test") {
		t.Fatalf("plain HTTP to a registry not listed as insecure: err = %v, want a refusal naming --insecure-registry", err)
	}
	// go-containerregistry would speak plain HTTP to RFC 1918 and .local
	// registries; edgerun does not.
	for _, host := range []string{"10.0.0.6:5000", "192.168.1.2", "registry.local"} {
		_, err := newStore(t).Pull(bg, host+"/test/app:v1", pullOpts(PullOptions{Registry: RegistryConfig{Keychain: noAuth, Transport: tr}, Backoff: time.Hour}))
		if err == nil || !strings.Contains(err.Error(), "--insecure-registry") {
			t.Fatalf("plain HTTP to %s, not listed as insecure: err = %v, want a refusal naming --insecure-registry", host, err)
		}
	}
	s := newStore(t)
	if _, err := s.Pull(bg, ref, pullOpts(PullOptions{Registry: RegistryConfig{Keychain: noAuth, Transport: tr, Insecure: []string{"registry.test"}}})); err != nil {
		t.Fatalf("pull from an --insecure-registry: %v", err)
	}
}
