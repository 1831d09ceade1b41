package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/edgerun/edgerun/sigpolicy"
)

// maxSignatures bounds how many signatures of an image are fetched.
const maxSignatures = 32

// maxSignatureBlob bounds a signature's payload blob.
const maxSignatureBlob = 64 << 10

// checkPolicy applies the signature policy to the image the reference
// resolved to, whose top manifest (or index) is top: before any config or
// layer is fetched, so a refused image leaves nothing in the store.
func (p *puller) checkPolicy(ctx context.Context, rule sigpolicy.Rule, top document) error {
	img := sigpolicy.Image{Ref: p.ref, Digest: top.digest.String()}
	if rule.NeedsSignatures() {
		sigs, err := p.signatures(ctx, top.digest)
		if err != nil {
			return err
		}
		img.Signatures = sigs
	}
	return rule.Check(img)
}

// signatures fetches the sigstore signatures of manifest d by cosign's
// convention: the manifest tagged sha256-<hex>.sig in the same repository,
// whose layers are the payloads with the signature in an annotation. No
// such tag is no signature. They are read into memory, never stored.
func (p *puller) signatures(ctx context.Context, d digest.Digest) ([]sigpolicy.Signature, error) {
	tag := d.Algorithm().String() + "-" + d.Encoded() + ".sig"
	var doc document
	err := p.retry(ctx, func() error {
		var err error
		doc, err = p.cl.manifest(ctx, tag, "", p.s.jsonLimit)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("signatures of %s (tag %s): %w", d, tag, err)
	}
	if !isManifestType(doc.mediaType) {
		return nil, invalidf("signatures of %s: tag %s is a %q, not an image manifest", d, tag, doc.mediaType)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(doc.body, &m); err != nil {
		return nil, invalidf("signatures of %s: manifest %s: %v", d, tag, err)
	}
	var sigs []sigpolicy.Signature
	for _, l := range m.Layers {
		sig, ok := l.Annotations[sigpolicy.SignatureAnnotation]
		if l.MediaType != sigpolicy.PayloadMediaType || !ok || l.Size > maxSignatureBlob || l.Digest.Validate() != nil {
			continue // not a signature edgerun can check; the others may do
		}
		if len(sigs) == maxSignatures {
			break
		}
		var b []byte
		err := p.retry(ctx, func() error {
			var err error
			b, err = p.smallBlob(ctx, l)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("signatures of %s: payload %s: %w", d, l.Digest, err)
		}
		sigs = append(sigs, sigpolicy.Signature{Payload: b, Base64: sig})
	}
	return sigs, nil
}

// smallBlob reads a small blob into memory, verified by size and digest.
func (p *puller) smallBlob(ctx context.Context, desc ocispec.Descriptor) ([]byte, error) {
	what := "blob " + desc.Digest.String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cl.url("blobs", desc.Digest.String()), nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.cl.http.Do(req)
	if err != nil {
		return nil, p.o.reg.netError(p.cl.ep.reg.RegistryStr(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, httpError(p.cl.ep.reg.RegistryStr(), what, resp)
	}
	b, err := readCapped(resp.Body, desc.Size, what)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, fmt.Errorf("%w: more than the %d bytes the manifest says", ErrDigestMismatch, desc.Size)
		}
		return nil, &transientError{err}
	}
	if int64(len(b)) != desc.Size || desc.Digest.Algorithm().FromBytes(b) != desc.Digest {
		return nil, fmt.Errorf("%s: %w", what, ErrDigestMismatch)
	}
	return b, nil
}
