package image

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// RemoveOptions configures Remove. The zero value removes an image
// without asking whether a container uses it.
type RemoveOptions struct {
	// Force removes an image even while a container uses it.
	Force bool
	// InUse tells Remove which images containers use (by manifest
	// digest); nil means none.
	InUse func(manifest digest.Digest) (container string, used bool)
	// Unnamed removes the image only while it has no name (a dangling
	// image that prune picked), else fails with ErrNamed.
	Unnamed bool
}

// Remove untags ref. Removing by digest or ID removes all of the image's
// names. When an image loses its last name it is deleted from the index
// (its blobs are left for Prune); that is refused while a container uses
// it unless opts.Force. removed holds "Untagged: <name>" and
// "Deleted: <digest>" lines, in that order.
func (s *Store) Remove(ref string, opts RemoveOptions) (removed []string, err error) {
	ctx := context.Background()
	l, err := s.writerLock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	err = s.updateIndex(ctx, func(ix *indexFile) error {
		removed = nil
		d, name, err := ix.resolve(ref)
		if err != nil {
			return err
		}
		r := ix.Images[d]
		if opts.Unnamed && len(r.Names) > 0 {
			return fmt.Errorf("remove %s: %w", ref, ErrNamed)
		}
		untag := r.Names
		if name != "" {
			untag = []string{name}
		}
		deleting := len(without(append([]string(nil), r.Names...), name)) == 0 || name == ""
		if deleting && !opts.Force && opts.InUse != nil {
			if c, used := opts.InUse(d); used {
				return fmt.Errorf("remove %s: %w by container %s: stop and remove it, or use --force", ref, ErrInUse, c)
			}
		}
		for _, n := range untag {
			removed = append(removed, "Untagged: "+n)
		}
		if deleting {
			delete(ix.Images, d)
			removed = append(removed, "Deleted: "+d.String())
		} else {
			r.Names = without(r.Names, name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return removed, nil
}

// Prune deletes blobs that no stored image reaches, and leftovers in
// ingest/: temp files of dead loads at once, partial blobs (which a later
// pull could resume) once older than the ingest max age. It holds the store
// lock exclusively, so it waits for running loads.
func (s *Store) Prune(ctx context.Context) (removed []digest.Digest, freed int64, err error) {
	l, err := lockfile.Exclusive(ctx, s.storeLock())
	if err != nil {
		return nil, 0, fmt.Errorf("lock image store for prune: %w", err)
	}
	defer l.Unlock()
	// Every writer of images.json holds the store lock shared: under it held
	// exclusively, a temp file of the index is a crash's leftover.
	if err := atomicfile.RemoveStale(s.root, "images.json"); err != nil {
		return nil, 0, fmt.Errorf("prune: %w", err)
	}
	keep, err := s.reachable()
	if err != nil {
		return nil, 0, fmt.Errorf("prune: %w: fix or remove the broken image first", err)
	}
	ents, err := os.ReadDir(s.blobDir())
	if err != nil {
		return nil, 0, fmt.Errorf("prune: %w", err)
	}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return removed, freed, err
		}
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if keep[d] {
			continue
		}
		info, ierr := e.Info()
		if rerr := os.Remove(filepath.Join(s.blobDir(), e.Name())); rerr != nil {
			return removed, freed, fmt.Errorf("prune blob %s: %w", e.Name(), rerr)
		}
		if ierr == nil {
			freed += info.Size()
		}
		removed = append(removed, d)
	}
	n, err := s.pruneIngest()
	return removed, freed + n, err
}

// reachable is every blob a stored image needs: manifest, config, layers.
func (s *Store) reachable() (map[digest.Digest]bool, error) {
	imgs, err := s.List()
	if err != nil {
		return nil, err
	}
	keep := map[digest.Digest]bool{}
	for _, img := range imgs {
		keep[img.Digest] = true
		keep[img.ConfigDigest] = true
		for _, l := range img.Manifest.Layers {
			keep[l.Digest] = true
		}
	}
	return keep, nil
}

// pruneIngest runs with the store lock held exclusively: no writer is
// alive, so tmp files and lock files are garbage; partial blobs are kept
// for a while for resumption.
func (s *Store) pruneIngest() (freed int64, err error) {
	ents, err := os.ReadDir(s.ingestDir())
	if err != nil {
		return 0, fmt.Errorf("prune ingest: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		info, ierr := e.Info()
		if ierr != nil {
			continue
		}
		stale := strings.HasPrefix(name, "tmp-") || strings.HasSuffix(name, ".lock") ||
			s.now().Sub(info.ModTime()) > s.ingestMaxAge
		if strings.HasSuffix(name, ".lock") {
			if _, err := os.Lstat(filepath.Join(s.ingestDir(), strings.TrimSuffix(name, ".lock"))); err == nil {
				stale = false // its partial blob is kept
			}
		}
		if !stale {
			continue
		}
		if err := os.Remove(filepath.Join(s.ingestDir(), name)); err != nil {
			return freed, fmt.Errorf("prune ingest %s: %w", name, err)
		}
		if !strings.HasSuffix(name, ".lock") {
			freed += info.Size()
		}
	}
	return freed, nil
}
