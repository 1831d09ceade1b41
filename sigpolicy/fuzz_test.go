package sigpolicy

import (
	"encoding/base64"
	"testing"
)

// FuzzParse feeds arbitrary policy files to Parse: it must not panic, and
// a parsed policy always has a rule for any image.
func FuzzParse(f *testing.F) {
	_, pub := testKey(f)
	f.Add([]byte(`{"default":[{"type":"reject"}],"transports":{"docker":{"r.local/app":[{"type":"sigstoreSigned","keyData":"` +
		base64.StdEncoding.EncodeToString(pub) + `","signedIdentity":{"type":"remapIdentity","prefix":"m.local","signedPrefix":"r.local"}}]}}}`))
	f.Add([]byte(`{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{"*.example":[{"type":"reject"}]}}}`))
	f.Add([]byte(`{"default":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse("fuzz.json", b, nil)
		if err != nil {
			return
		}
		for _, ref := range []string{"r.local/app:1", "a.example/x@sha256:ab", "docker.io/library/busybox:latest"} {
			if r := p.For(TransportDocker, ref); len(r.Reqs) == 0 {
				t.Fatalf("no requirements for %s", ref)
			}
		}
	})
}

// FuzzPayload feeds arbitrary payloads, signed with the rule's key, to the
// check: it must not panic, and accept only a payload that names the
// image's digest and reference.
func FuzzPayload(f *testing.F) {
	k, pub := testKey(f)
	p, err := Parse("fuzz.json", []byte(`{"default":[{"type":"sigstoreSigned","keyData":"`+base64.StdEncoding.EncodeToString(pub)+`"}]}`), nil)
	if err != nil {
		f.Fatal(err)
	}
	rule := p.For(TransportDocker, "r.local/app:1")
	f.Add(payloadFor("r.local/app:1", testDigest))
	f.Add(payloadFor("r.local/app:2", testDigest))
	f.Add([]byte(`{"critical":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParsePayload(b)
		err := rule.Check(Image{Ref: "r.local/app:1", Digest: testDigest, Signatures: []Signature{sign(t, k, b)}})
		if err != nil {
			return
		}
		pl, perr := ParsePayload(b)
		if perr != nil || pl.ManifestDigest != testDigest || normalize(pl.DockerReference) != "r.local/app:1" {
			t.Fatalf("accepted payload %q (%+v, %v)", b, pl, perr)
		}
	})
}
