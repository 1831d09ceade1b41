package sigpolicy

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// The parts of cosign's signature format edgerun reads: the signature
// manifest's layers have this media type, their blob is the payload and
// this annotation holds the base64 signature of the payload.
const (
	PayloadMediaType    = "application/vnd.dev.cosign.simplesigning.v1+json"
	SignatureAnnotation = "dev.cosignproject.cosign/signature"
	payloadType         = "cosign container image signature"
)

// maxPayload caps a signature payload (cosign's are a few hundred bytes).
const maxPayload = 64 << 10

// Signature is one sigstore signature of an image: the payload blob and the
// base64 signature from its layer's annotation.
type Signature struct {
	Payload []byte
	Base64  string
}

// Payload is the part of a simple-signing payload that is checked.
type Payload struct {
	DockerReference string // critical.identity.docker-reference
	ManifestDigest  string // critical.image.docker-manifest-digest
}

// ParsePayload parses a simple-signing payload strictly: critical holds
// exactly identity, image and type (unknown critical fields refuse it, as
// the format requires); optional is anything.
func ParsePayload(b []byte) (Payload, error) {
	if len(b) > maxPayload {
		return Payload{}, fmt.Errorf("payload is %d bytes, over %d", len(b), maxPayload)
	}
	var raw struct {
		Critical *struct {
			Identity *struct {
				DockerReference *string `json:"docker-reference"`
			} `json:"identity"`
			Image *struct {
				Digest *string `json:"docker-manifest-digest"`
			} `json:"image"`
			Type *string `json:"type"`
		} `json:"critical"`
		Optional json.RawMessage `json:"optional"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Payload{}, fmt.Errorf("payload is not simple-signing JSON: %w", err)
	}
	c := raw.Critical
	switch {
	case c == nil:
		return Payload{}, errors.New(`payload has no "critical"`)
	case c.Type == nil || *c.Type != payloadType:
		return Payload{}, fmt.Errorf("payload critical.type is not %q", payloadType)
	case c.Identity == nil || c.Identity.DockerReference == nil || *c.Identity.DockerReference == "":
		return Payload{}, errors.New("payload has no critical.identity.docker-reference")
	case c.Image == nil || c.Image.Digest == nil || !strings.Contains(*c.Image.Digest, ":"):
		return Payload{}, errors.New("payload has no critical.image.docker-manifest-digest")
	}
	return Payload{DockerReference: *c.Identity.DockerReference, ManifestDigest: *c.Image.Digest}, nil
}

// ParsePublicKey reads a PEM public key (PKIX, "PUBLIC KEY"): ECDSA as
// cosign makes them (P-256), RSA or Ed25519, the key types containers/image
// signs with.
func ParsePublicKey(b []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("no PEM block: want a PEM public key (-----BEGIN PUBLIC KEY-----, cosign's .pub)")
	}
	if blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("PEM block is %q: want the PUBLIC KEY (the .pub file), never the private key", blk.Type)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	switch k.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey, ed25519.PublicKey:
		return k, nil
	}
	return nil, fmt.Errorf("public key type %T is not supported: use ECDSA, RSA or Ed25519", k)
}

// verifySig checks sig (raw bytes) over payload with key: ECDSA (ASN.1) and
// RSA PKCS #1 v1.5 over SHA-256, Ed25519 over the payload itself.
func verifySig(key crypto.PublicKey, payload, sig []byte) bool {
	h := sha256.Sum256(payload)
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		return ecdsa.VerifyASN1(k, h[:], sig)
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig) == nil
	case ed25519.PublicKey:
		return ed25519.Verify(k, payload, sig)
	}
	return false
}

// checkSignature verifies one signature for the image ref with manifest
// digest dg against req: the key first, then the digest, then the identity.
func (req Requirement) checkSignature(ref, dg string, s Signature) error {
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s.Base64))
	if err != nil {
		return fmt.Errorf("%w %s: the signature annotation is not base64", ErrWrongKey, req.KeyName)
	}
	if !verifySig(req.Key, s.Payload, sig) {
		return fmt.Errorf("%w %s", ErrWrongKey, req.KeyName)
	}
	p, err := ParsePayload(s.Payload)
	if err != nil {
		return fmt.Errorf("%w: signed by the key, but %w", ErrDigestMismatch, err)
	}
	if p.ManifestDigest != dg {
		return fmt.Errorf("%w: the signature is for manifest %s, the image is %s", ErrDigestMismatch, p.ManifestDigest, dg)
	}
	return req.Identity.Match(ref, p.DockerReference)
}

// Image is what a rule is checked against: its reference (normalized, or
// the input for load), its manifest digest, and its signatures.
type Image struct {
	Ref        string
	Digest     string
	Signatures []Signature
}

// NeedsSignatures says whether checking the rule needs the image's
// signatures: it has a sigstoreSigned requirement and no reject.
func (r Rule) NeedsSignatures() bool {
	need := false
	for _, req := range r.Reqs {
		switch req.Type {
		case TypeReject:
			return false
		case TypeSigstoreSigned:
			need = true
		}
	}
	return need
}

// Check applies the rule to img: every requirement must accept it. A
// refusal is a *RefusedError naming the rule and why.
func (r Rule) Check(img Image) error {
	for _, req := range r.Reqs {
		if err := req.check(img); err != nil {
			return &RefusedError{Image: img.Ref, File: r.File, Scope: r.Scope, Type: req.Type, Err: err}
		}
	}
	return nil
}

func (req Requirement) check(img Image) error {
	switch req.Type {
	case TypeAcceptAnything:
		return nil
	case TypeReject:
		return ErrRejected
	case TypeSigstoreSigned:
	default:
		return fmt.Errorf("requirement type %q is not supported", req.Type)
	}
	if len(img.Signatures) == 0 {
		return fmt.Errorf("%w: the image carries no sigstore signature to verify with key %s",
			ErrNoSignature, req.KeyName)
	}
	// Any one signature accepted is enough; otherwise report the most
	// telling failure: identity, then digest, then key.
	var best error
	for _, s := range img.Signatures {
		err := req.checkSignature(img.Ref, img.Digest, s)
		if err == nil {
			return nil
		}
		if best == nil || rank(err) > rank(best) {
			best = err
		}
	}
	return fmt.Errorf("%w (signatures tried: %d)", best, len(img.Signatures))
}

func rank(err error) int {
	switch {
	case errors.Is(err, ErrIdentityMismatch):
		return 3
	case errors.Is(err, ErrDigestMismatch):
		return 2
	}
	return 1
}
