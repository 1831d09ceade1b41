// Package image is edgerun's content store: verified content-addressed blobs,
// resumable ingest, the name → manifest index (images.json), image loading
// from OCI layouts and OCI/docker-save archives, platform selection and
// garbage collection. It knows nothing of containers.
//
// Layout under the persistent root:
//
//	blobs/sha256/<hex>   verified blobs, visible only after verification
//	ingest/<hex>         partial blob being written (locked by <hex>.lock)
//	ingest/tmp-*         blob of not yet known digest (archive staging)
//	images.json          the name index, replaced atomically
//	locks/image.lock     store lock: shared for writers, exclusive for prune
//	locks/images.json.lock  serialises read-modify-write of images.json
package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/internal/lockfile"
)

// DefaultJSONLimit caps manifests, indexes, configs and archive metadata
// before they are parsed.
const DefaultJSONLimit = 4 << 20

// DefaultIngestMaxAge is how long Prune keeps a partial blob that a later
// pull could resume.
const DefaultIngestMaxAge = 24 * time.Hour

// Store is a content store rooted at one directory. It is safe for use by
// several processes at once; the zero value is not usable, call Open.
type Store struct {
	root         string
	jsonLimit    int64
	ingestMaxAge time.Duration
	now          func() time.Time
	notice       func(string)
}

// StoreOptions configures Open. The zero value is the defaults.
type StoreOptions struct {
	// JSONLimit caps JSON documents before they are parsed; 0 means
	// DefaultJSONLimit.
	JSONLimit int64
	// IngestMaxAge is how old a partial blob must be before Prune removes
	// it; 0 means DefaultIngestMaxAge.
	IngestMaxAge time.Duration
	// Now replaces time.Now (tests); nil means time.Now.
	Now func() time.Time
	// Notice receives messages for the user about state the store
	// repaired (a damaged images.json); nil drops them.
	Notice func(string)
}

// Open opens (creating if needed) the store under root.
func Open(root string, opts StoreOptions) (*Store, error) {
	if root == "" {
		return nil, fmt.Errorf("open image store: empty root directory: pass --root")
	}
	s, err := storeAt(root, opts)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{s.blobDir(), s.ingestDir(), filepath.Join(s.root, "locks")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open image store: create %s: %w (check --root and its permissions)", d, err)
		}
	}
	return s, nil
}

// storeAt is the store under root with opts' defaults, without
// creating anything (Check only reads).
func storeAt(root string, opts StoreOptions) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open image store %s: %w", root, err)
	}
	s := &Store{root: abs, jsonLimit: opts.JSONLimit, ingestMaxAge: opts.IngestMaxAge, now: opts.Now, notice: opts.Notice}
	if s.jsonLimit == 0 {
		s.jsonLimit = DefaultJSONLimit
	}
	if s.ingestMaxAge == 0 {
		s.ingestMaxAge = DefaultIngestMaxAge
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Root returns the store's root directory.
func (s *Store) Root() string { return s.root }

func (s *Store) blobDir() string   { return filepath.Join(s.root, "blobs", "sha256") }
func (s *Store) ingestDir() string { return filepath.Join(s.root, "ingest") }
func (s *Store) indexPath() string { return filepath.Join(s.root, "images.json") }
func (s *Store) storeLock() string { return filepath.Join(s.root, "locks", "image.lock") }
func (s *Store) indexLock() string { return filepath.Join(s.root, "locks", "images.json.lock") }

// checkDigest accepts only well-formed sha256 digests, so that a digest can
// safely become a file name.
func checkDigest(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("%w: bad digest %q: %w", ErrInvalidImage, string(d), err)
	}
	if d.Algorithm() != digest.SHA256 {
		return fmt.Errorf("%w: digest %s uses %s: only sha256 is supported", ErrInvalidImage, d, d.Algorithm())
	}
	return nil
}

func (s *Store) blobPath(d digest.Digest) string {
	return filepath.Join(s.blobDir(), d.Encoded())
}

// HasBlob reports whether a verified blob is in the store.
func (s *Store) HasBlob(d digest.Digest) bool {
	if checkDigest(d) != nil {
		return false
	}
	_, err := os.Lstat(s.blobPath(d))
	return err == nil
}

// OpenBlob opens a verified blob. Blobs exist only once verified.
func (s *Store) OpenBlob(d digest.Digest) (io.ReadCloser, error) {
	if err := checkDigest(d); err != nil {
		return nil, err
	}
	f, err := os.Open(s.blobPath(d))
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("blob %s: %w: load or pull the image again", d, ErrBlobNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", d, err)
	}
	return f, nil
}

// readBlobJSON reads a stored blob whose size must not exceed the JSON cap.
func (s *Store) readBlobJSON(d digest.Digest) ([]byte, error) {
	rc, err := s.OpenBlob(d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readCapped(rc, s.jsonLimit, d.String())
}

// checkJSONSize refuses a JSON document (what: its name in messages) whose
// descriptor says it is empty or larger than the cap, before it is read.
func (s *Store) checkJSONSize(what string, size int64) error {
	if size > s.jsonLimit {
		return fmt.Errorf("%s is %d bytes: %w (limit %d)", what, size, ErrTooLarge, s.jsonLimit)
	}
	if size <= 0 {
		return invalidf("descriptor of %s has size %d", what, size)
	}
	return nil
}

func readCapped(r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w (over %d bytes)", what, ErrTooLarge, limit)
	}
	return b, nil
}

// writerLock takes the store lock shared: many loads/tags at once, none
// while a prune runs.
func (s *Store) writerLock(ctx context.Context) (*lockfile.Lock, error) {
	l, err := lockfile.Shared(ctx, s.storeLock())
	if err != nil {
		return nil, fmt.Errorf("lock image store: %w", err)
	}
	return l, nil
}
