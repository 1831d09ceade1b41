package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/lockfile"
)

const indexVersion = 1

// indexFile is images.json: every image the store keeps, by manifest
// digest, with the names pointing at it. A name points at one image; an
// image with no names is listed as <none> until removed.
type indexFile struct {
	Version int                       `json:"version"`
	Images  map[digest.Digest]*record `json:"images"`
}

type record struct {
	Names    []string         `json:"names,omitempty"`
	Platform ocispec.Platform `json:"platform"`
	Loaded   time.Time        `json:"loaded"`
	// NamesLost marks an image the index was rebuilt with and whose names
	// could not be recovered: <none>, but not docker's dangling image
	// (no name moved away from it), so image prune keeps it until it is
	// named again (edgerun tag) or pruned with -a.
	NamesLost bool `json:"namesLost,omitempty"`
}

// readIndex reads images.json. A damaged one (disk damage: it is only ever
// replaced atomically) is recovered from images.json.prev, the copy before
// the last change, kept by updateIndex, or, without a usable one, rebuilt
// from the blobs (index_rebuild.go); the damaged file is kept in the
// quarantine as images.json-TIME, never deleted, and the user is told
// which happened.
func (s *Store) readIndex() (*indexFile, error) {
	ix, err := readIndexFile(s.indexPath())
	if !errors.Is(err, errIndexDamaged) {
		return ix, err
	}
	// Recover under the index lock, so no writer's new index is moved.
	l, lerr := lockfile.Exclusive(context.Background(), s.indexLock())
	if lerr != nil {
		return nil, err
	}
	defer l.Unlock()
	return s.readIndexLocked()
}

// readIndexLocked is readIndex for a caller holding the index lock.
func (s *Store) readIndexLocked() (*indexFile, error) {
	ix, err := readIndexFile(s.indexPath())
	if !errors.Is(err, errIndexDamaged) {
		return ix, err
	}
	prev, perr := readIndexFile(s.indexPath() + ".prev")
	if _, serr := os.Stat(s.indexPath() + ".prev"); perr != nil || serr != nil {
		return s.rebuildIndex(err)
	}
	aside, kerr := s.keepAside(s.indexPath(), fmt.Sprintf("damaged image index: %v; restored from images.json.prev", err))
	if kerr != nil {
		return nil, fmt.Errorf("keep the damaged image index aside: %w", kerr)
	}
	data, _ := json.MarshalIndent(prev, "", "  ")
	if werr := atomicfile.WriteFile(s.indexPath(), append(data, '\n'), 0o600); werr != nil {
		return nil, fmt.Errorf("restore image index from %s.prev: %w", s.indexPath(), werr)
	}
	if s.notice != nil {
		s.notice(fmt.Sprintf("the image index was damaged (%v): recovered from the previous copy, the one before its last change (kept the damaged one as %s): an image loaded, pulled or removed last may need doing again", err, aside))
	}
	return prev, nil
}

// errIndexDamaged: images.json exists but cannot be parsed.
var errIndexDamaged = errors.New("image index is damaged")

// readIndexFile reads an index file; a missing one is an empty index.
func readIndexFile(path string) (*indexFile, error) {
	ix := &indexFile{Version: indexVersion, Images: map[digest.Digest]*record{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read image index: %w", err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: %s is empty", errIndexDamaged, path)
	}
	if err := json.Unmarshal(b, ix); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", errIndexDamaged, path, err)
	}
	if ix.Version != indexVersion {
		return nil, fmt.Errorf("image index %s has version %d, this edgerun knows %d: use a matching edgerun", path, ix.Version, indexVersion)
	}
	if ix.Images == nil {
		ix.Images = map[digest.Digest]*record{}
	}
	return ix, nil
}

// updateIndex runs fn on images.json under its lock and writes the result
// atomically if fn succeeds.
func (s *Store) updateIndex(ctx context.Context, fn func(*indexFile) error) error {
	l, err := lockfile.Exclusive(ctx, s.indexLock())
	if err != nil {
		return fmt.Errorf("lock image index: %w", err)
	}
	defer l.Unlock()
	// A write of images.json a crash interrupted left its temp file; every
	// writer holds this lock, so none is in flight.
	if err := atomicfile.RemoveStale(s.root, "images.json"); err != nil {
		return err
	}
	ix, err := s.readIndexLocked()
	if err != nil {
		return err
	}
	if err := fn(ix); err != nil {
		return err
	}
	// Keep the current copy as images.json.prev (a hard link: the new
	// index is a new file renamed over the old name), for readIndex to
	// recover from if the disk damages the new one.
	if _, err := os.Stat(s.indexPath()); err == nil {
		tmp := s.indexPath() + ".prev.tmp"
		_ = os.Remove(tmp)
		if err := os.Link(s.indexPath(), tmp); err == nil {
			_ = os.Rename(tmp, s.indexPath()+".prev")
		}
	}
	return atomicfile.Write(s.indexPath(), 0o600, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(ix)
	})
}

// setName points name at d, taking it away from any other image.
func (ix *indexFile) setName(name string, d digest.Digest) {
	for od, r := range ix.Images {
		if od != d {
			r.Names = without(r.Names, name)
		}
	}
	r := ix.Images[d]
	r.NamesLost = false
	for _, n := range r.Names {
		if n == name {
			return
		}
	}
	r.Names = append(r.Names, name)
	sort.Strings(r.Names)
}

func without(names []string, name string) []string {
	out := names[:0]
	for _, n := range names {
		if n != name {
			out = append(out, n)
		}
	}
	return out
}

func (ix *indexFile) byName(name string) (digest.Digest, bool) {
	for d, r := range ix.Images {
		for _, n := range r.Names {
			if n == name {
				return d, true
			}
		}
	}
	return "", false
}

// minIDPrefix is the shortest hex prefix accepted as an image ID.
const minIDPrefix = 4

// resolve finds the image a user's reference means: a name (normalised),
// a digest, or a unique ID prefix. name is set when it matched a name.
func (ix *indexFile) resolve(ref string) (d digest.Digest, name string, err error) {
	ref = strings.TrimSpace(ref)
	if !strings.HasPrefix(ref, "sha256:") {
		if n, perr := ParseReference(ref); perr == nil {
			if d, ok := ix.byName(n); ok {
				return d, n, nil
			}
		}
	}
	hex := strings.TrimPrefix(ref, "sha256:")
	if len(hex) < minIDPrefix || strings.Trim(hex, "0123456789abcdef") != "" {
		return "", "", fmt.Errorf("image %q: %w: load it with edgerun load, or see edgerun images", ref, ErrNotFound)
	}
	var found []digest.Digest
	for d := range ix.Images {
		if strings.HasPrefix(d.Encoded(), hex) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return "", "", fmt.Errorf("image %q: %w: load it with edgerun load, or see edgerun images", ref, ErrNotFound)
	case 1:
		return found[0], "", nil
	}
	return "", "", fmt.Errorf("%q matches %d images: %w: give more characters of the ID", ref, len(found), ErrAmbiguous)
}

// Tag points the name ref at the stored image d.
func (s *Store) Tag(ref string, d digest.Digest) error {
	name, err := ParseReference(ref)
	if err != nil {
		return err
	}
	if err := checkDigest(d); err != nil {
		return err
	}
	ctx := context.Background()
	l, err := s.writerLock(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	return s.updateIndex(ctx, func(ix *indexFile) error {
		if ix.Images[d] == nil {
			return fmt.Errorf("tag %s: image %s: %w", name, d, ErrNotFound)
		}
		ix.setName(name, d)
		return nil
	})
}
