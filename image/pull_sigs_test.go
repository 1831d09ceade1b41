package image

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/edgerun/edgerun/sigpolicy"
)

// pushSignature pushes a cosign-style signature of manifest dg, for the
// docker-reference identity, signed by k, as cosign lays it out.
func (tr *testRegistry) pushSignature(t *testing.T, repo, dg, identity string, k *ecdsa.PrivateKey) {
	t.Helper()
	payload := fmt.Appendf(nil, `{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, identity, dg)
	h := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, k, h[:])
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:       static.NewLayer(payload, types.MediaType(sigpolicy.PayloadMediaType)),
		Annotations: map[string]string{sigpolicy.SignatureAnnotation: base64.StdEncoding.EncodeToString(sig)},
	})
	if err != nil {
		t.Fatal(err)
	}
	tr.push(t, repo+":"+strings.Replace(dg, ":", "-", 1)+".sig", img)
}

func TestPullSignaturePolicy(t *testing.T) {
	reg := startRegistry(t, nil)
	img := bigImage(t, 4096)
	dg := mustDigest(t, img)
	signed := reg.push(t, "fleet/app:1", img)
	unsigned := reg.push(t, "fleet/unsigned:1", img)
	wrongID := reg.push(t, "fleet/other:1", img)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	reg.pushSignature(t, "fleet/app", dg, signed, k)
	reg.pushSignature(t, "fleet/other", dg, signed, k) // a copy under another name
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	pol, err := sigpolicy.Parse("policy.json", []byte(`{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{
		"`+reg.host+`/fleet":[{"type":"sigstoreSigned","keyData":"`+pub+`"}],
		"`+reg.host+`/banned":[{"type":"reject"}]}}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref  string
		want error // nil: pulled
	}{
		{signed, nil},
		{reg.host + "/fleet/app@" + dg, nil},
		{unsigned, sigpolicy.ErrNoSignature},
		{wrongID, sigpolicy.ErrIdentityMismatch},
		{reg.host + "/banned/app:1", sigpolicy.ErrRejected},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			s := newStore(t)
			_, err := s.Pull(bg, tc.ref, pullOpts(PullOptions{Policy: pol}))
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var re *sigpolicy.RefusedError
			if !errors.Is(err, tc.want) || !errors.As(err, &re) {
				t.Fatalf("pull: %v, want a refusal for %v", err, tc.want)
			}
			if n := blobCount(t, s); n != 0 {
				t.Errorf("%d blobs stored by a refused pull", n)
			}
			if _, err := s.Get(tc.ref); !errors.Is(err, ErrNotFound) {
				t.Errorf("refused image is named: %v", err)
			}
			assertClean(t, s)
		})
	}
}
