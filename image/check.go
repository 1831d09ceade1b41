package image

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// Check is the content store's part of `edgerun check`: it finds blobs
// that do not hash to their digest (with Verify), images of the index
// whose blobs are missing or damaged, and leftovers in ingest/. Without
// Repair it only reads. With Repair, under the store lock taken
// exclusively (as Prune does, so no load or pull runs meanwhile), it
// moves damaged blobs to <root>/quarantine/blobs/, takes broken images
// out of the index (their entry is kept in <root>/quarantine/images/, so
// nothing is lost: pull or load them again), and removes ingest
// leftovers. Nothing is ever deleted that is not garbage.

// CheckOptions configures Check. The zero value checks without re-hashing
// the blobs and repairs nothing.
type CheckOptions struct {
	// StoreOptions: IngestMaxAge says when a partial download is a
	// leftover (default DefaultIngestMaxAge); Now replaces time.Now.
	StoreOptions
	// Verify re-hashes every blob against its digest: it reads the whole
	// store, so it is the costly part of a check.
	Verify bool
	// Repair fixes what is found.
	Repair bool
}

// Finding is one thing Check found wrong, and what repair does about it.
type Finding struct {
	Kind     string // stable name, e.g. blob-corrupt
	Where    string // the file, or the image
	Problem  string // what is wrong
	Repair   string // what repair does about it
	Repaired bool   // the repair was done
	Err      error  // why the repair failed
}

// The kinds of findings.
const (
	findBlobCorrupt   = "blob-corrupt"
	findBlobInvalid   = "blob-invalid"
	findImageBroken   = "image-broken"
	findIndexCorrupt  = "index-unreadable"
	findIngestLeftout = "ingest-leftover"
)

// finding is a Finding with the repair that fixes it (nil: none can).
type finding struct {
	Finding
	fix func() error
}

// Check checks the content store under root (see above). A root without
// a store has nothing to check.
func Check(ctx context.Context, root string, opts CheckOptions) ([]Finding, error) {
	s, err := storeAt(root, opts.StoreOptions)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(s.root); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	found, bad, err := s.checkBlobs(ctx, opts.Verify)
	if err != nil {
		return nil, err
	}
	found = append(found, s.checkImages(bad)...)
	found = append(found, s.checkIngest()...)
	if opts.Repair && len(found) > 0 {
		if err := s.repair(ctx, found); err != nil {
			return nil, err
		}
	}
	out := make([]Finding, len(found))
	for i, f := range found {
		out[i] = f.Finding
	}
	return out, nil
}

// repair runs the fixes in order (blobs before the images that need them)
// with the store lock held exclusively.
func (s *Store) repair(ctx context.Context, found []*finding) error {
	if err := os.MkdirAll(filepath.Dir(s.storeLock()), 0o700); err != nil {
		return fmt.Errorf("lock image store for repair: %w", err)
	}
	l, err := lockfile.Exclusive(ctx, s.storeLock())
	if err != nil {
		return fmt.Errorf("lock image store for repair: %w", err)
	}
	defer l.Unlock()
	for _, f := range found {
		if f.fix == nil {
			continue
		}
		f.Err = f.fix()
		f.Repaired = f.Err == nil
	}
	return nil
}

// checkBlobs finds what in blobs/sha256 is not a verified blob: files not
// named by a digest, non-regular files, and, with verify, content that
// does not hash to its name. bad holds the digests of damaged blobs.
func (s *Store) checkBlobs(ctx context.Context, verify bool) ([]*finding, map[digest.Digest]string, error) {
	ents, err := os.ReadDir(s.blobDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("check blobs: %w", err)
	}
	var found []*finding
	bad := map[digest.Digest]string{}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		name, p := e.Name(), filepath.Join(s.blobDir(), e.Name())
		var kind, problem string
		switch {
		case !isHexDigest(name):
			kind, problem = findBlobInvalid, "the name is not a sha256 digest"
		case !e.Type().IsRegular():
			kind, problem = findBlobInvalid, "not a regular file"
		case verify:
			got, err := hashFile(p)
			if err != nil {
				kind, problem = findBlobCorrupt, "cannot be read: "+err.Error()
			} else if got.Encoded() != name {
				kind, problem = findBlobCorrupt, "content hashes to "+got.String()
			}
		}
		if kind == "" {
			continue
		}
		if isHexDigest(name) {
			bad[digest.NewDigestFromEncoded(digest.SHA256, name)] = problem
		}
		dst := filepath.Join(s.quarantineDir(), "blobs", name)
		found = append(found, &finding{
			Finding: Finding{Kind: kind, Where: p, Problem: problem, Repair: "move it to " + dst},
			fix:     func() error { return quarantineFile(p, dst, kind+": "+problem) },
		})
	}
	return found, bad, nil
}

func isHexDigest(s string) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// hashFile is the sha256 digest of a file's content.
func hashFile(path string) (digest.Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	dg := digest.SHA256.Digester()
	if _, err := io.Copy(dg.Hash(), f); err != nil {
		return "", err
	}
	return dg.Digest(), nil
}

func (s *Store) quarantineDir() string { return filepath.Join(s.root, "quarantine") }

// quarantineFile moves path to dst (dst-<time> when dst exists) and
// leaves a note beside it saying why.
func quarantineFile(path, dst, why string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		dst += "-" + time.Now().UTC().Format("20060102T150405.000000000")
	}
	note := fmt.Sprintf("%s\nmoved here from %s on %s\n", why, path, time.Now().UTC().Format(time.RFC3339))
	if err := atomicfile.WriteFile(dst+".QUARANTINED", []byte(note), 0o600); err != nil {
		return err
	}
	return atomicfile.Rename(path, dst)
}

// checkImages finds the images of the index that cannot be used: a
// manifest or config that is missing, unreadable or damaged, or a layer
// blob that is missing or damaged (bad). Repair takes such an image out
// of the index and keeps its entry in the quarantine. A damaged index is
// reported, and repaired as any command would repair it (readIndex:
// restored from its previous copy, else rebuilt from the blobs, after the
// damaged blobs went to the quarantine).
func (s *Store) checkImages(bad map[digest.Digest]string) []*finding {
	ix, err := readIndexFile(s.indexPath())
	if errors.Is(err, errIndexDamaged) {
		return []*finding{{Finding: Finding{Kind: findIndexCorrupt, Where: s.indexPath(), Problem: err.Error(),
			Repair: "restore the copy before its last change (images.json.prev), else rebuild it from the blobs; the damaged one goes to " + s.quarantineDir()},
			fix: func() error { _, err := s.readIndex(); return err }}}
	}
	if err != nil {
		return []*finding{{Finding: Finding{Kind: findIndexCorrupt, Where: s.indexPath(), Problem: err.Error(),
			Repair: "none: restore images.json from a backup, or move it aside and load or pull the images again"}}}
	}
	digests := make([]digest.Digest, 0, len(ix.Images))
	for d := range ix.Images {
		digests = append(digests, d)
	}
	sort.Slice(digests, func(i, j int) bool { return digests[i] < digests[j] })
	var found []*finding
	for _, d := range digests {
		r := ix.Images[d]
		problem := s.imageProblem(d, r, bad)
		if problem == "" {
			continue
		}
		where := "image " + d.String()
		if len(r.Names) > 0 {
			where = "image " + strings.Join(r.Names, ", ") + " (" + d.String() + ")"
		}
		note := filepath.Join(s.quarantineDir(), "images", d.Encoded()+".json")
		found = append(found, &finding{
			Finding: Finding{Kind: findImageBroken, Where: where, Problem: problem,
				Repair: "take it out of the image index (its entry is kept in " + note + "): pull or load it again"},
			fix: func() error { return s.dropImage(d, note, problem) },
		})
	}
	return found
}

// imageProblem says what makes image d unusable, "" when nothing.
func (s *Store) imageProblem(d digest.Digest, r *record, bad map[digest.Digest]string) string {
	if why, ok := bad[d]; ok {
		return "its manifest " + d.String() + " is damaged: " + why
	}
	img, err := s.image(d, r)
	if err != nil {
		return err.Error()
	}
	if why, ok := bad[img.ConfigDigest]; ok {
		return "its config " + img.ConfigDigest.String() + " is damaged: " + why
	}
	for _, l := range img.Manifest.Layers {
		if why, ok := bad[l.Digest]; ok {
			return "its layer " + l.Digest.String() + " is damaged: " + why
		}
		if !s.HasBlob(l.Digest) {
			return "its layer " + l.Digest.String() + " is missing from the store"
		}
	}
	return ""
}

// quarantinedImage is the note kept for an image taken out of the index.
type quarantinedImage struct {
	Digest      digest.Digest `json:"digest"`
	Problem     string        `json:"problem"`
	Quarantined time.Time     `json:"quarantined"`
	record
}

// dropImage takes image d out of the index, keeping its entry at note.
func (s *Store) dropImage(d digest.Digest, note, problem string) error {
	return s.updateIndex(context.Background(), func(ix *indexFile) error {
		r := ix.Images[d]
		if r == nil {
			return nil // removed meanwhile
		}
		b, err := json.MarshalIndent(quarantinedImage{Digest: d, Problem: problem, Quarantined: time.Now().UTC(), record: *r}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(note), 0o700); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(note, append(b, '\n'), 0o600); err != nil {
			return err
		}
		delete(ix.Images, d)
		return nil
	})
}

// checkIngest finds what dead loads and pulls left in ingest/: temp files
// (only while no load or pull holds the store lock), partial downloads
// older than the ingest max age whose lock nobody holds (younger ones are
// kept for a later pull to resume), and lock files without their partial.
func (s *Store) checkIngest() []*finding {
	ents, err := os.ReadDir(s.ingestDir())
	if err != nil {
		return nil
	}
	writers := lockfile.Held(s.storeLock())
	var found []*finding
	for _, e := range ents {
		name, p := e.Name(), filepath.Join(s.ingestDir(), e.Name())
		info, err := e.Info()
		if err != nil {
			continue
		}
		var problem string
		remove := []string{p}
		switch base, isLock := strings.CutSuffix(name, ".lock"); {
		case strings.HasPrefix(name, "tmp-"):
			if !writers {
				problem = "a temp file of a load or pull that did not finish"
			}
		case isLock:
			if _, err := os.Lstat(filepath.Join(s.ingestDir(), base)); errors.Is(err, fs.ErrNotExist) && !lockfile.Held(p) {
				problem = "the lock file of a download that is gone"
			}
		case isHexDigest(name):
			age := s.now().Sub(info.ModTime())
			if age > s.ingestMaxAge && !lockfile.Held(p+".lock") {
				problem = fmt.Sprintf("a partial download untouched for %s (kept for a pull to resume for %s)", age.Round(time.Minute), s.ingestMaxAge)
				remove = append(remove, p+".lock")
			}
		}
		if problem == "" {
			continue
		}
		found = append(found, &finding{
			Finding: Finding{Kind: findIngestLeftout, Where: p, Problem: problem, Repair: "remove it"},
			fix:     func() error { return removeFiles(remove...) },
		})
	}
	return found
}

// removeFiles removes files; missing ones are not an error.
func removeFiles(paths ...string) error {
	var errs []error
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
