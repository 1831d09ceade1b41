package sigpolicy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const testDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func payloadFor(ref, dg string) []byte {
	return fmt.Appendf(nil, `{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":{"creator":"test"}}`, ref, dg)
}

func sign(t testing.TB, k *ecdsa.PrivateKey, payload []byte) Signature {
	t.Helper()
	h := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, k, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return Signature{Payload: payload, Base64: base64.StdEncoding.EncodeToString(sig)}
}

func ruleWith(t *testing.T, pub []byte, identity string) Rule {
	t.Helper()
	id := ""
	if identity != "" {
		id = `,"signedIdentity":` + identity
	}
	p, err := Parse("/etc/edgerun/policy.json", []byte(`{"default":[{"type":"reject"}],"transports":{"docker":{"registry.local/app":[
		{"type":"sigstoreSigned","keyData":"`+base64.StdEncoding.EncodeToString(pub)+`"`+id+`}]}}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p.For(TransportDocker, "registry.local/app:1")
}

func TestCheckSignatures(t *testing.T) {
	k, pub := testKey(t)
	other, _ := testKey(t)
	rule := ruleWith(t, pub, "")
	good := sign(t, k, payloadFor("registry.local/app:1", testDigest))
	tampered := good
	tampered.Payload = payloadFor("registry.local/app:2", testDigest)
	badSig := good
	badSig.Base64 = "not base64!"
	tests := []struct {
		name string
		sigs []Signature
		want error // nil: accepted
		msg  string
	}{
		{"signed", []Signature{good}, nil, ""},
		{"one of several", []Signature{sign(t, other, good.Payload), good}, nil, ""},
		{"unsigned", nil, ErrNoSignature, "no signature"},
		{"other key", []Signature{sign(t, other, good.Payload)}, ErrWrongKey, "no signature verifies with the key keyData"},
		{"tampered payload", []Signature{tampered}, ErrWrongKey, "keyData"},
		{"not base64", []Signature{badSig}, ErrWrongKey, "not base64"},
		{"other digest", []Signature{sign(t, k, payloadFor("registry.local/app:1", "sha256:"+strings.Repeat("f", 64)))}, ErrDigestMismatch, "the image is " + testDigest},
		{"other identity", []Signature{sign(t, k, payloadFor("registry.local/app:2", testDigest))}, ErrIdentityMismatch, "is for registry.local/app:2, the policy wants registry.local/app:1"},
		{"identity beats key", []Signature{sign(t, other, good.Payload), sign(t, k, payloadFor("registry.local/evil:1", testDigest))}, ErrIdentityMismatch, "signatures tried: 2"},
		{"signed garbage", []Signature{sign(t, k, []byte(`{"critical":{}}`))}, ErrDigestMismatch, "critical.type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := rule.Check(Image{Ref: "registry.local/app:1", Digest: testDigest, Signatures: tc.sigs})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Check: %v, want accepted", err)
				}
				return
			}
			var re *RefusedError
			if !errors.As(err, &re) || !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Check: %v, want a RefusedError for %v saying %q", err, tc.want, tc.msg)
			}
			wantPrefix := `image registry.local/app:1 refused by /etc/edgerun/policy.json (transports.docker["registry.local/app"], sigstoreSigned): `
			if !strings.HasPrefix(err.Error(), wantPrefix) || !strings.HasSuffix(err.Error(), "; sign it or change the policy") {
				t.Fatalf("error %q does not name the rule the way users read it", err)
			}
		})
	}
}

func TestRejectAndAccept(t *testing.T) {
	p, err := Parse("p.json", []byte(`{"default":[{"type":"reject"}],"transports":{"docker":{"ok.local":[{"type":"insecureAcceptAnything"}]}}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := p.For(TransportDocker, "ok.local/a:1"); r.NeedsSignatures() || r.Check(Image{Ref: "ok.local/a:1"}) != nil {
		t.Errorf("insecureAcceptAnything refused or wants signatures")
	}
	r := p.For(TransportDocker, "else.local/a:1")
	if err := r.Check(Image{Ref: "else.local/a:1"}); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "(default, reject)") {
		t.Errorf("reject: %v", err)
	}
}

func TestOtherKeyTypes(t *testing.T) {
	payload := payloadFor("registry.local/app:1", testDigest)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(payload)
	rsig, err := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	epub, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pub  any
		sig  []byte
	}{
		{"rsa", &rk.PublicKey, rsig},
		{"ed25519", epub, ed25519.Sign(ek, payload)},
	} {
		der, err := x509.MarshalPKIXPublicKey(tc.pub)
		if err != nil {
			t.Fatal(err)
		}
		rule := ruleWith(t, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), "")
		s := Signature{Payload: payload, Base64: base64.StdEncoding.EncodeToString(tc.sig)}
		if err := rule.Check(Image{Ref: "registry.local/app:1", Digest: testDigest, Signatures: []Signature{s}}); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestParsePayload(t *testing.T) {
	tests := []struct{ name, payload, want string }{
		{"good", string(payloadFor("r.local/a:1", testDigest)), ""},
		{"no optional", `{"critical":{"identity":{"docker-reference":"r.local/a:1"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"cosign container image signature"}}`, ""},
		{"unknown critical", `{"critical":{"identity":{"docker-reference":"r.local/a:1"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"cosign container image signature","extra":1}}`, "unknown field"},
		{"wrong type", `{"critical":{"identity":{"docker-reference":"r.local/a:1"},"image":{"docker-manifest-digest":"sha256:ab"},"type":"atomic container signature"}}`, "critical.type"},
		{"no identity", `{"critical":{"image":{"docker-manifest-digest":"sha256:ab"},"type":"cosign container image signature"}}`, "docker-reference"},
		{"no digest", `{"critical":{"identity":{"docker-reference":"r.local/a:1"},"image":{},"type":"cosign container image signature"}}`, "docker-manifest-digest"},
		{"not JSON", `nope`, "not simple-signing JSON"},
		{"huge", strings.Repeat(" ", maxPayload+1), "over"},
	}
	for _, tc := range tests {
		_, err := ParsePayload([]byte(tc.payload))
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
