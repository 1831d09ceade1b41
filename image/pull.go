package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/edgerun/edgerun/internal/diskspace"
	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/sigpolicy"
)

// PullEventKind names what a PullEvent reports.
type PullEventKind string

// The events of a pull, in order per layer: layer, progress..., (retry...),
// downloaded, unpacked. resolved comes first, done last.
const (
	PullResolved   PullEventKind = "resolved"   // Digest: manifest; Size: bytes of all layers
	PullLayer      PullEventKind = "layer"      // a layer to fetch; Current: bytes already here
	PullProgress   PullEventKind = "progress"   // Current of Size bytes written
	PullRetry      PullEventKind = "retry"      // Attempt, Error: a transient failure, retrying
	PullDownloaded PullEventKind = "downloaded" // the layer blob is verified and stored
	PullUnpacked   PullEventKind = "unpacked"   // the layer is unpacked
	PullDone       PullEventKind = "done"       // Digest: manifest; Size: bytes received
)

// PullEvent reports the progress of a pull. Callbacks may come from
// several goroutines at once.
type PullEvent struct {
	Kind    PullEventKind `json:"event"`
	Ref     string        `json:"ref,omitempty"`
	Digest  digest.Digest `json:"digest,omitempty"`
	Size    int64         `json:"size,omitempty"`
	Current int64         `json:"current,omitempty"`
	Attempt int           `json:"attempt,omitempty"`
	Error   string        `json:"error,omitempty"`
}

// Pulled is the image a pull stored.
type Pulled struct {
	Name     string
	Digest   digest.Digest // platform-specific manifest
	Platform ocispec.Platform
	Received int64 // bytes received from the registry for blobs
	Resumed  int64 // bytes of partial blobs that were already here
}

// puller is one pull in progress.
type puller struct {
	s        *Store
	o        pullConfig
	ref      string
	cl       *client
	received atomic.Int64
	resumed  atomic.Int64
	space    *diskspace.Guard // shared by the parallel downloads
}

func (p *puller) event(e PullEvent) {
	if p.o.events != nil {
		e.Ref = p.ref
		p.o.events(e)
	}
}

// Pull fetches ref from its registry into the store: the manifest for the
// host (or opts.Platform) platform, its config and its layers, each
// verified by size and digest as it streams in; then points the name at
// it. Partial blobs survive failures and are resumed by the next pull.
func (s *Store) Pull(ctx context.Context, ref string, opts PullOptions) (*Pulled, error) {
	norm, err := ParseReference(ref)
	if err != nil {
		return nil, err
	}
	p := &puller{s: s, o: newPullConfig(opts), ref: norm}
	p.space = diskspace.NewGuard(s.ingestDir(), p.o.minFree, p.o.diskSpace)
	res, err := p.pull(ctx)
	var refused *sigpolicy.RefusedError
	if errors.As(err, &refused) {
		return nil, err // it names the image already
	}
	if err != nil {
		if isTransient(err) || errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("pull %s: %w: pull again to resume where this one stopped", norm, err)
		}
		return nil, fmt.Errorf("pull %s: %w", norm, err)
	}
	return res, nil
}

func (p *puller) pull(ctx context.Context) (*Pulled, error) {
	r, err := name.ParseReference(p.ref)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %w", p.ref, err)
	}
	var rule sigpolicy.Rule
	if p.o.policy != nil {
		rule = p.o.policy.For(sigpolicy.TransportDocker, p.ref)
		if !rule.NeedsSignatures() { // accepted or refused without asking the registry
			if err := rule.Check(sigpolicy.Image{Ref: p.ref}); err != nil {
				return nil, err
			}
		}
	}
	l, err := p.s.writerLock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	top, err := p.resolve(ctx, r)
	if err != nil {
		return nil, err
	}
	if rule.NeedsSignatures() {
		if err := p.checkPolicy(ctx, rule, top); err != nil {
			return nil, err
		}
	}
	mdoc, plat, err := p.platformManifest(ctx, top)
	if err != nil {
		return nil, err
	}
	m, err := parseManifest(mdoc.body, mdoc.digest, mdoc.mediaType)
	if err != nil {
		return nil, err
	}
	cfg, err := p.config(ctx, m)
	if err != nil {
		return nil, err
	}
	pl, err := imagePlatform(cfg, plat, mdoc.digest)
	if err != nil {
		return nil, err
	}
	if plat == nil && p.o.platform != nil && platformScore(*p.o.platform, pl) == 0 {
		return nil, fmt.Errorf("%w: the image is for %s only, not %s", ErrNoMatchingPlatform, FormatPlatform(pl), FormatPlatform(*p.o.platform))
	}
	layers := make([]Layer, len(m.Layers))
	var total int64
	for i, d := range m.Layers {
		layers[i] = Layer{Desc: d, DiffID: cfg.RootFS.DiffIDs[i]}
		total += d.Size
	}
	p.event(PullEvent{Kind: PullResolved, Digest: mdoc.digest, Size: total})
	if err := p.checkSpace(layers); err != nil {
		return nil, err
	}
	if err := p.layers(ctx, layers); err != nil {
		return nil, err
	}
	if err := p.storeDoc(ctx, mdoc); err != nil {
		return nil, err
	}
	fault.Point("pull/before-index")
	if err := p.name(ctx, mdoc.digest, pl); err != nil {
		return nil, err
	}
	res := &Pulled{Name: p.ref, Digest: mdoc.digest, Platform: pl, Received: p.received.Load(), Resumed: p.resumed.Load()}
	p.event(PullEvent{Kind: PullDone, Digest: mdoc.digest, Size: res.Received})
	return res, nil
}

// resolve fetches the top manifest or index, trying mirrors first.
func (p *puller) resolve(ctx context.Context, r name.Reference) (document, error) {
	eps, err := p.o.reg.endpoints(r.Context())
	if err != nil {
		return document{}, err
	}
	var want digest.Digest
	if d, ok := r.(name.Digest); ok {
		want = digest.Digest(d.DigestStr())
		if err := checkDigest(want); err != nil {
			return document{}, err
		}
	}
	var errs []error
	for _, ep := range eps {
		doc, err := p.tryEndpoint(ctx, ep, r.Identifier(), want)
		if err == nil {
			return doc, nil
		}
		if !ep.mirror {
			return document{}, err
		}
		errs = append(errs, fmt.Errorf("mirror %s: %w", ep.reg.RegistryStr(), err))
	}
	return document{}, errors.Join(errs...)
}

func (p *puller) tryEndpoint(ctx context.Context, ep endpoint, id string, want digest.Digest) (document, error) {
	var doc document
	err := p.retry(ctx, func() error {
		cl, err := p.o.reg.connect(ctx, ep)
		if err != nil {
			return err
		}
		p.cl = cl
		doc, err = cl.manifest(ctx, id, want, p.s.jsonLimit)
		return err
	})
	return doc, err
}

// retry runs fn again on transient errors, with backoff.
func (p *puller) retry(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if err := p.backoff(ctx, attempt, "", err); err != nil {
			return err
		}
	}
}

// backoff decides whether attempt's failure err (of blob d, "" for a
// manifest) is retried: when it is transient and retries are left, it
// reports the retry, waits (doubling per attempt) and returns nil; else
// it returns err.
func (p *puller) backoff(ctx context.Context, attempt int, d digest.Digest, err error) error {
	if !isTransient(err) || attempt >= p.o.retries || ctx.Err() != nil {
		return err
	}
	p.event(PullEvent{Kind: PullRetry, Digest: d, Attempt: attempt + 1, Error: err.Error()})
	return sleepCtx(ctx, p.o.backoff<<min(attempt, 5))
}

// platformManifest returns the manifest to store: doc itself, or the
// entry of the index that fits the wanted platform.
func (p *puller) platformManifest(ctx context.Context, doc document) (document, *ocispec.Platform, error) {
	if isManifestType(doc.mediaType) {
		return doc, nil, nil
	}
	idx, err := parseIndex(doc.body, doc.digest, doc.mediaType)
	if err != nil {
		return document{}, nil, err
	}
	want := HostPlatform()
	if p.o.platform != nil {
		want = *p.o.platform
	}
	desc, err := selectPlatform(idx.Manifests, want)
	if err != nil {
		return document{}, nil, fmt.Errorf("index %s: %w", doc.digest, err)
	}
	if desc.Size > p.s.jsonLimit {
		return document{}, nil, fmt.Errorf("manifest %s is %d bytes: %w (limit %d)", desc.Digest, desc.Size, ErrTooLarge, p.s.jsonLimit)
	}
	var m document
	err = p.retry(ctx, func() error {
		m, err = p.cl.manifest(ctx, desc.Digest.String(), desc.Digest, p.s.jsonLimit)
		return err
	})
	if err != nil {
		return document{}, nil, err
	}
	if !isManifestType(m.mediaType) {
		return document{}, nil, invalidf("index %s: entry %s is a %q where an image manifest was expected", doc.digest, desc.Digest, m.mediaType)
	}
	if int64(len(m.body)) != desc.Size {
		return document{}, nil, fmt.Errorf("manifest %s: %w: %d bytes, the index says %d", desc.Digest, ErrDigestMismatch, len(m.body), desc.Size)
	}
	plat := normalizePlatform(*desc.Platform)
	return m, &plat, nil
}

// config fetches, stores and parses the image config.
func (p *puller) config(ctx context.Context, m ocispec.Manifest) (ocispec.Image, error) {
	d := m.Config
	if err := p.s.checkJSONSize("config "+d.Digest.String(), d.Size); err != nil {
		return ocispec.Image{}, err
	}
	if err := p.fetchBlob(ctx, d, nil); err != nil {
		return ocispec.Image{}, fmt.Errorf("config: %w", err)
	}
	b, err := p.s.readBlobJSON(d.Digest)
	if err != nil {
		return ocispec.Image{}, err
	}
	return parseConfig(b, d.Digest, m.Layers)
}

// layers downloads the layers, at most o.parallel at once, and unpacks
// each as soon as it is stored. The first failure cancels the others.
func (p *puller) layers(ctx context.Context, layers []Layer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, p.o.parallel)
	errs := make([]error, len(layers))
	var wg sync.WaitGroup
	for i, l := range layers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = p.layer(ctx, sem, l); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	var first error
	for i, err := range errs {
		if err == nil {
			continue
		}
		err = fmt.Errorf("layer %d (%s): %w", i, layers[i].Desc.Digest, err)
		if first == nil || (errors.Is(first, context.Canceled) && !errors.Is(err, context.Canceled)) {
			first = err
		}
	}
	return first
}

func (p *puller) layer(ctx context.Context, sem chan struct{}, l Layer) error {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	d := l.Desc.Digest
	p.event(PullEvent{Kind: PullLayer, Digest: d, Size: l.Desc.Size, Current: p.s.partialSize(d, l.Desc.Size)})
	err := p.fetchBlob(ctx, l.Desc, func(n int64) {
		p.event(PullEvent{Kind: PullProgress, Digest: d, Size: l.Desc.Size, Current: n})
	})
	<-sem
	if err != nil {
		return err
	}
	p.event(PullEvent{Kind: PullDownloaded, Digest: d, Size: l.Desc.Size})
	fault.Point("pull/after-blob")
	if p.o.unpack != nil {
		if err := p.o.unpack(ctx, l); err != nil {
			return err
		}
		p.event(PullEvent{Kind: PullUnpacked, Digest: d, Size: l.Desc.Size})
	}
	return nil
}

// storeDoc publishes a verified manifest as a blob.
func (p *puller) storeDoc(ctx context.Context, doc document) error {
	w, err := p.s.ingestFrom(ctx, bytes.NewReader(doc.body), doc.digest, int64(len(doc.body)), nil)
	if err != nil {
		return err
	}
	return w.commit()
}

// name points the reference at the pulled manifest, once every layer is
// stored and unpacked (the rule load follows).
func (p *puller) name(ctx context.Context, d digest.Digest, plat ocispec.Platform) error {
	now := p.s.now().UTC()
	return p.s.updateIndex(ctx, func(ix *indexFile) error {
		if ix.Images[d] == nil {
			ix.Images[d] = &record{Platform: plat, Loaded: now}
		}
		ix.setName(p.ref, d)
		return nil
	})
}
