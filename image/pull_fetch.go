package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/edgerun/edgerun/internal/fault"
)

var manifestAccept = strings.Join([]string{
	ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
	mediaTypeDockerManifest, mediaTypeDockerManifestList,
}, ", ")

// document is a manifest or index as the registry sent it, verified
// against its digest.
type document struct {
	body      []byte
	mediaType string
	digest    digest.Digest
}

// transientError marks a failure worth retrying (network, 5xx, 429).
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func isTransient(err error) bool {
	var t *transientError
	return errors.As(err, &t)
}

// httpError reads a non-success answer into a clear, classified error.
func httpError(host, what string, resp *http.Response) error {
	err := statusError(host, what, resp.StatusCode, transport.CheckError(resp, http.StatusOK))
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
		return &transientError{err}
	}
	return err
}

// manifest fetches the manifest or index ref (a tag or digest), capped at
// limit bytes before it is read, and checks its type and digest (want,
// when pinned).
func (cl *client) manifest(ctx context.Context, ref string, want digest.Digest, limit int64) (document, error) {
	what := fmt.Sprintf("manifest %s:%s", cl.ep.repo.Name(), ref)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cl.url("manifests", ref), nil)
	if err != nil {
		return document{}, err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := cl.http.Do(req)
	if err != nil {
		return document{}, cl.cfg.netError(cl.ep.reg.RegistryStr(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return document{}, httpError(cl.ep.reg.RegistryStr(), what, resp)
	}
	if resp.ContentLength > limit {
		return document{}, fmt.Errorf("%s is %d bytes: %w (limit %d)", what, resp.ContentLength, ErrTooLarge, limit)
	}
	b, err := readCapped(resp.Body, limit, what)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return document{}, err
		}
		return document{}, &transientError{err}
	}
	doc := document{body: b, mediaType: contentType(resp.Header.Get("Content-Type"), b), digest: digest.FromBytes(b)}
	if want != "" && doc.digest != want {
		return document{}, fmt.Errorf("%s: %w: the registry sent content hashing to %s", what, ErrDigestMismatch, doc.digest)
	}
	if !isManifestType(doc.mediaType) && !isIndexType(doc.mediaType) {
		return document{}, invalidf("%s has media type %q: want an OCI or docker v2 manifest or index (docker schema 1 is not supported)", what, doc.mediaType)
	}
	return doc, nil
}

// contentType is the media type of a manifest: the Content-Type header, or
// for registries that say application/json, the document's mediaType.
func contentType(header string, body []byte) string {
	mt, _, _ := mime.ParseMediaType(header)
	if mt != "" && mt != "application/json" && mt != "text/plain" {
		return mt
	}
	var probe struct {
		MediaType string `json:"mediaType"`
	}
	if json.Unmarshal(body, &probe) == nil {
		return probe.MediaType
	}
	return mt
}

// fetchBlob makes desc a verified blob of the store: it resumes the
// partial ingest file with an HTTP Range request, retries transient errors
// with backoff, and starts over once when a resumed blob fails to verify.
// report receives the bytes written so far; got, the bytes received.
func (p *puller) fetchBlob(ctx context.Context, desc ocispec.Descriptor, report func(int64)) error {
	fresh := false
	for attempt := 0; ; attempt++ {
		if p.s.HasBlob(desc.Digest) {
			return nil
		}
		w, err := p.s.resumeIngest(ctx, desc.Digest, desc.Size)
		if err != nil {
			return err
		}
		w.space = p.space
		if p.s.HasBlob(desc.Digest) { // another pull published it meanwhile
			w.discard()
			return nil
		}
		start := w.n
		if start > 0 {
			p.resumed.Add(start)
		}
		err = p.download(ctx, w, desc, report)
		if err == nil {
			if err = w.finish(); err == nil {
				return w.commit()
			}
			if start > 0 && !fresh && errors.Is(err, ErrDigestMismatch) {
				fresh = true // the partial file was bad: start over once
				continue
			}
			return err
		}
		if errors.Is(err, ErrDigestMismatch) {
			w.discard()
			return err
		}
		w.suspend()
		if err := p.backoff(ctx, attempt, desc.Digest, err); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// download streams the rest of the blob into w, asking for the bytes from
// w's offset on; a registry that ignores the Range gets the whole blob
// written from the start.
func (p *puller) download(ctx context.Context, w *ingest, desc ocispec.Descriptor, report func(int64)) error {
	if w.n == desc.Size {
		return nil
	}
	what := "blob " + desc.Digest.String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cl.url("blobs", desc.Digest.String()), nil)
	if err != nil {
		return err
	}
	if w.n > 0 {
		// An explicit end: some registries do not take open ranges.
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", w.n, desc.Size-1))
	}
	resp, err := p.cl.http.Do(req)
	if err != nil {
		return p.o.reg.netError(p.cl.ep.reg.RegistryStr(), err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if rangeStart(resp.Header.Get("Content-Range")) != w.n {
			if err := w.reset(); err != nil {
				return err
			}
			return &transientError{fmt.Errorf("%s: the registry answered another range than asked: starting over", what)}
		}
	case http.StatusOK:
		if err := w.reset(); err != nil { // Range ignored: the whole blob follows
			return err
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if err := w.reset(); err != nil {
			return err
		}
		return &transientError{fmt.Errorf("%s: the registry refused to resume: starting over", what)}
	default:
		return httpError(p.cl.ep.reg.RegistryStr(), what, resp)
	}
	if resp.ContentLength >= 0 && w.n+resp.ContentLength > desc.Size {
		return fmt.Errorf("%s: %w: the registry sends %d bytes, the manifest says %d", what, ErrDigestMismatch, w.n+resp.ContentLength, desc.Size)
	}
	n, err := io.Copy(&countingWriter{w: w, report: report}, ctxReader{ctx, resp.Body})
	p.received.Add(n)
	if err != nil {
		if errors.Is(err, ErrDigestMismatch) || errors.Is(err, ErrNoSpace) || ctx.Err() != nil {
			return err
		}
		return &transientError{fmt.Errorf("%s: connection lost after %d of %d bytes: %w", what, w.n, desc.Size, err)}
	}
	if w.n < desc.Size {
		return &transientError{fmt.Errorf("%s: connection closed after %d of %d bytes", what, w.n, desc.Size)}
	}
	return nil
}

func rangeStart(cr string) int64 {
	s, ok := strings.CutPrefix(strings.TrimSpace(cr), "bytes ")
	if !ok {
		return -1
	}
	a, _, _ := strings.Cut(s, "-")
	n, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

type countingWriter struct {
	w      *ingest
	report func(int64)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	fault.Point("pull/mid-blob")
	if err == nil && c.report != nil {
		c.report(c.w.n)
	}
	return n, err
}

// suspend keeps a partial blob for a later resume: durable, unlocked.
func (w *ingest) suspend() {
	if w.f != nil {
		_ = w.f.Sync() // best effort: a lost tail is fetched again
		_ = w.f.Close()
		w.f = nil
	}
	if w.lock != nil { // keep the lock file beside the partial blob
		_ = w.lock.Unlock()
		w.lock = nil
	}
	w.path = ""
}

// reset empties a partial blob to write it again from the start.
func (w *ingest) reset() error {
	if w.f == nil {
		return fmt.Errorf("blob %s: ingest is closed", w.want)
	}
	if err := w.f.Truncate(0); err != nil {
		return fmt.Errorf("restart blob %s: %w", w.want, err)
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("restart blob %s: %w", w.want, err)
	}
	w.dg, w.n = digest.SHA256.Digester(), 0
	return nil
}
