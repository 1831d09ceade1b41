package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/diskspace"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// ingest is one blob being written. Bytes are hashed as they stream in; the
// blob becomes visible under blobs/ only through commit, after finish has
// verified its size and digest. A blob of known digest is written to
// ingest/<hex> under the lock ingest/<hex>.lock, so that a later registry
// pull can resume it (see resumeIngest); one of unknown digest (a docker-save
// layer) goes to a private ingest/tmp-* file.
type ingest struct {
	s        *Store
	path     string // "" when the blob is already in the store
	lock     *lockfile.Lock
	f        *os.File
	dg       digest.Digester
	n        int64
	want     digest.Digest
	wantSize int64 // -1: unknown
	got      digest.Digest
	space    *diskspace.Guard // nil: no free-space check
}

// newIngest starts a blob. If the per-digest partial file is locked by
// another writer, a private temp file is used instead: two loads of the
// same image must never wait on each other mid-stream.
func (s *Store) newIngest(want digest.Digest, size int64) (*ingest, error) {
	w := &ingest{s: s, dg: digest.SHA256.Digester(), want: want, wantSize: size}
	if want != "" {
		if err := checkDigest(want); err != nil {
			return nil, err
		}
		if s.HasBlob(want) {
			return w, nil // only hash, to verify the input
		}
		p := filepath.Join(s.ingestDir(), want.Encoded())
		if l, err := lockfile.TryExclusive(p + ".lock"); err == nil {
			f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				l.Unlock()
				return nil, fmt.Errorf("create ingest file for %s: %w", want, err)
			}
			w.path, w.lock, w.f = p, l, f
			return w, nil
		} else if !errors.Is(err, lockfile.ErrLocked) {
			return nil, err
		}
	}
	f, err := os.CreateTemp(s.ingestDir(), "tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create ingest file: %w", err)
	}
	w.path, w.f = f.Name(), f
	return w, nil
}

// resumeIngest opens the partial file of a known blob, waiting for its lock,
// and re-hashes what is already there. Offset then tells a puller where to
// continue (an HTTP Range request); Write appends.
func (s *Store) resumeIngest(ctx context.Context, want digest.Digest, size int64) (*ingest, error) {
	if err := checkDigest(want); err != nil {
		return nil, err
	}
	p := filepath.Join(s.ingestDir(), want.Encoded())
	l, err := lockfile.Exclusive(ctx, p+".lock")
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		l.Unlock()
		return nil, fmt.Errorf("open ingest file for %s: %w", want, err)
	}
	w := &ingest{s: s, path: p, lock: l, f: f, dg: digest.SHA256.Digester(), want: want, wantSize: size}
	n, err := io.Copy(w.dg.Hash(), f)
	if err != nil {
		w.discard()
		return nil, fmt.Errorf("resume ingest of %s: %w", want, err)
	}
	w.n = n
	if size >= 0 && n > size { // cannot be this blob: start it over
		if err := w.reset(); err != nil {
			w.discard()
			return nil, err
		}
	}
	return w, nil
}

// Offset is the number of bytes already written.
func (w *ingest) Offset() int64 { return w.n }

func (w *ingest) Write(p []byte) (int, error) {
	if w.wantSize >= 0 && w.n+int64(len(p)) > w.wantSize {
		return 0, fmt.Errorf("blob %s: %w: more than the announced %d bytes", w.want, ErrDigestMismatch, w.wantSize)
	}
	if w.f != nil {
		if err := w.space.Wrote(int64(len(p))); err != nil {
			return 0, noSpace(err)
		}
	}
	w.dg.Hash().Write(p)
	w.n += int64(len(p))
	if w.f == nil {
		return len(p), nil
	}
	return w.f.Write(p)
}

// finish makes the data durable and verifies size and digest. On failure
// the partial file is removed.
func (w *ingest) finish() error {
	got := w.dg.Digest()
	var err error
	switch {
	case w.wantSize >= 0 && w.n != w.wantSize:
		err = fmt.Errorf("blob %s: %w: got %d bytes, want %d", w.want, ErrDigestMismatch, w.n, w.wantSize)
	case w.want != "" && got != w.want:
		err = fmt.Errorf("blob %s: %w: content hashes to %s", w.want, ErrDigestMismatch, got)
	}
	if err == nil && w.f != nil {
		if err = w.f.Sync(); err == nil {
			err = w.f.Close()
		}
		w.f = nil
	}
	if err != nil {
		w.discard()
		return err
	}
	w.got = got
	return nil
}

// commit publishes a finished blob: rename into blobs/, fsync the dir.
func (w *ingest) commit() error {
	if w.got == "" {
		return fmt.Errorf("commit blob %s: not verified", w.want)
	}
	defer w.release()
	if w.path == "" {
		return nil
	}
	dst := w.s.blobPath(w.got)
	if _, err := os.Lstat(dst); err == nil {
		os.Remove(w.path)
		w.path = ""
		return nil
	}
	if err := atomicfile.Rename(w.path, dst); err != nil {
		return fmt.Errorf("publish blob %s: %w", w.got, err)
	}
	w.path = ""
	return nil
}

// discard drops the blob. Safe after commit (then a no-op).
func (w *ingest) discard() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	if w.path != "" {
		os.Remove(w.path)
		w.path = ""
	}
	w.release()
}

// release drops the per-digest lock. Once the partial file is gone
// (committed or discarded) the lock file goes too: lockfile's Remove is
// safe for writers waiting on it. A kept partial keeps its lock file.
func (w *ingest) release() {
	if w.lock == nil {
		return
	}
	if w.path == "" {
		_ = w.lock.Remove() // a leftover lock file is removed with its ingest file later
	} else {
		w.lock.Unlock()
	}
	w.lock = nil
}

// ingestFrom streams r into a new blob and verifies it; space, when set,
// stops it while its file system keeps its reserve.
func (s *Store) ingestFrom(ctx context.Context, r io.Reader, want digest.Digest, size int64, space *diskspace.Guard) (*ingest, error) {
	w, err := s.newIngest(want, size)
	if err != nil {
		return nil, err
	}
	w.space = space
	if _, err := io.Copy(w, ctxReader{ctx, r}); err != nil {
		w.discard()
		return nil, err
	}
	if err := w.finish(); err != nil {
		return nil, err
	}
	return w, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if c.ctx.Err() != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// open reads a finished blob back, from the ingest file or, when it was
// already in the store, from there.
func (w *ingest) open() (io.ReadCloser, error) {
	if w.path == "" {
		return w.s.OpenBlob(w.got)
	}
	return os.Open(w.path)
}
