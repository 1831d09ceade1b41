package sigpolicy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testKey makes an ECDSA P-256 key pair, cosign's kind, and its PEM public
// key.
func testKey(t testing.TB) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestParseErrors(t *testing.T) {
	_, pub := testKey(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "fleet.pub")
	if err := os.WriteFile(keyFile, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	data := base64.StdEncoding.EncodeToString(pub)
	tests := []struct {
		name, policy, want string // want "" parses
	}{
		{"accept", `{"default":[{"type":"insecureAcceptAnything"}]}`, ""},
		{"scoped", `{"default":[{"type":"reject"}],"transports":{"docker":{"registry.local/app":[{"type":"sigstoreSigned","keyPath":"` + keyFile + `"}],"*.corp.example":[{"type":"insecureAcceptAnything"}]},"docker-daemon":{"":[{"type":"insecureAcceptAnything"}]}}}`, ""},
		{"keyData", `{"default":[{"type":"sigstoreSigned","keyData":"` + data + `","signedIdentity":{"type":"matchRepository"}}]}`, ""},
		{"remap", `{"default":[{"type":"sigstoreSigned","keyData":"` + data + `","signedIdentity":{"type":"remapIdentity","prefix":"mirror.local","signedPrefix":"registry.local"}}]}`, ""},
		{"not JSON", `{"default":`, "unexpected EOF"},
		{"trailing", `{"default":[{"type":"reject"}]} {}`, "data after"},
		{"no default", `{"transports":{}}`, `no "default"`},
		{"empty default", `{"default":[]}`, "empty list"},
		{"unknown field", `{"default":[{"type":"reject"}],"defaults":1}`, `unknown field "defaults"`},
		{"unknown type", `{"default":[{"type":"trustMe"}]}`, `unknown type "trustMe"`},
		{"no type", `{"default":[{}]}`, `no "type"`},
		{"GPG", `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k"}]}`, "GPG signatures) is not supported"},
		{"reject with key", `{"default":[{"type":"reject","keyPath":"/k"}]}`, `reject: json: unknown field "keyPath"`},
		{"both keys", `{"default":[{"type":"sigstoreSigned","keyPath":"` + keyFile + `","keyData":"` + data + `"}]}`, "exactly one of keyPath and keyData"},
		{"no key", `{"default":[{"type":"sigstoreSigned"}]}`, "exactly one of keyPath and keyData"},
		{"fulcio", `{"default":[{"type":"sigstoreSigned","fulcio":{}}]}`, "not Fulcio or Rekor"},
		{"relative key", `{"default":[{"type":"sigstoreSigned","keyPath":"fleet.pub"}]}`, "not absolute"},
		{"missing key", `{"default":[{"type":"sigstoreSigned","keyPath":"/nonexistent/fleet.pub"}]}`, "no such file"},
		{"bad base64", `{"default":[{"type":"sigstoreSigned","keyData":"%%%"}]}`, "not base64"},
		{"not PEM", `{"default":[{"type":"sigstoreSigned","keyData":"aGVsbG8="}]}`, "no PEM block"},
		{"private key", `{"default":[{"type":"sigstoreSigned","keyData":"` + base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED COSIGN PRIVATE KEY", Bytes: []byte("x")})) + `"}]}`, "never the private key"},
		{"identity type", `{"default":[{"type":"sigstoreSigned","keyData":"` + data + `","signedIdentity":{"type":"matchAnything"}}]}`, `unknown type "matchAnything"`},
		{"exactReference untagged", `{"default":[{"type":"sigstoreSigned","keyData":"` + data + `","signedIdentity":{"type":"exactReference","dockerReference":"registry.local/app"}}]}`, "with a tag or digest"},
		{"remap no prefix", `{"default":[{"type":"sigstoreSigned","keyData":"` + data + `","signedIdentity":{"type":"remapIdentity","signedPrefix":"r.local"}}]}`, "needs a prefix and a signedPrefix"},
		{"matchExact extra", `{"default":[{"type":"sigstoreSigned","keyData":"` + data + `","signedIdentity":{"type":"matchExact","prefix":"r.local"}}]}`, "takes no"},
		{"scheme scope", `{"default":[{"type":"reject"}],"transports":{"docker":{"https://r.local":[{"type":"reject"}]}}}`, "without a scheme"},
		{"bad wildcard", `{"default":[{"type":"reject"}],"transports":{"docker":{"*.r.local/app":[{"type":"reject"}]}}}`, "wildcard"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("/etc/edgerun/policy.json", []byte(tc.policy), os.ReadFile)
			if tc.want == "" {
				if err != nil || p == nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalidPolicy) ||
				!strings.Contains(err.Error(), "/etc/edgerun/policy.json") {
				t.Fatalf("Parse: %v, want an ErrInvalidPolicy naming the file and saying %q", err, tc.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "policy.json")
	if p, err := Load(Source{Path: missing, Optional: true}); p != nil || err != nil {
		t.Fatalf("optional missing policy: %v, %v; want no policy and no error", p, err)
	}
	if _, err := Load(Source{Path: missing}); err == nil || !strings.Contains(err.Error(), "--signature-policy") {
		t.Fatalf("named missing policy: %v, want an error saying what to do", err)
	}
}

func TestDefaultPath(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		euid int
		env  map[string]string
		want string
	}{
		{0, map[string]string{"XDG_CONFIG_HOME": "/x"}, "/etc/edgerun/policy.json"},
		{1000, map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/home/u"}, "/x/edgerun/policy.json"},
		{1000, map[string]string{"HOME": "/home/u"}, "/home/u/.config/edgerun/policy.json"},
	}
	for _, tc := range tests {
		if got := DefaultPath(tc.euid, env(tc.env)); got != tc.want {
			t.Errorf("DefaultPath(%d, %v) = %s, want %s", tc.euid, tc.env, got, tc.want)
		}
	}
}

func TestScopePrecedence(t *testing.T) {
	policy := `{"default":[{"type":"reject"}],"transports":{"docker":{
		"":[{"type":"reject"}],
		"registry.local":[{"type":"insecureAcceptAnything"}],
		"registry.local/team":[{"type":"reject"}],
		"registry.local/team/app":[{"type":"insecureAcceptAnything"}],
		"registry.local/team/app:beta":[{"type":"reject"}],
		"*.corp.example":[{"type":"insecureAcceptAnything"}],
		"*.example":[{"type":"reject"}],
		"hub.corp.example:5000/x":[{"type":"reject"}]
	},"oci-archive":{"/srv/images":[{"type":"insecureAcceptAnything"}]}}}`
	p, err := Parse("p.json", []byte(policy), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ transport, ref, scope string }{
		{"docker", "registry.local/team/app:beta", `transports.docker["registry.local/team/app:beta"]`},
		{"docker", "registry.local/team/app:1", `transports.docker["registry.local/team/app"]`},
		{"docker", "registry.local/team/app@sha256:ab", `transports.docker["registry.local/team/app"]`},
		{"docker", "registry.local/team/other:1", `transports.docker["registry.local/team"]`},
		{"docker", "registry.local/teams/app:1", `transports.docker["registry.local"]`},
		{"docker", "registry.local/app:1", `transports.docker["registry.local"]`},
		{"docker", "registry.local:5000/app:1", `transports.docker[""]`},
		{"docker", "hub.corp.example/app:1", `transports.docker["*.corp.example"]`},
		{"docker", "hub.corp.example:5000/x:1", `transports.docker["hub.corp.example:5000/x"]`},
		{"docker", "a.b.example/app:1", `transports.docker["*.example"]`},
		{"docker", "docker.io/library/busybox:latest", `transports.docker[""]`},
		{"oci-archive", "/srv/images/app.tar", `transports.oci-archive["/srv/images"]`},
		{"oci-archive", "/tmp/app.tar", "default"},
		{"docker-archive", "/srv/images/app.tar", "default"},
	}
	for _, tc := range tests {
		if got := p.For(tc.transport, tc.ref); got.Scope != tc.scope || got.File != "p.json" {
			t.Errorf("For(%s, %s) = %s (in %s), want %s", tc.transport, tc.ref, got.Scope, got.File, tc.scope)
		}
	}
}
