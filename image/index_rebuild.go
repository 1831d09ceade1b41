package image

import (
	"bytes"
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
)

// A damaged images.json with no usable previous copy is rebuilt from the
// blobs: the store keeps, per image, its platform manifest (load and pull
// never store an index), config and layers, each verified before it
// became a blob. Every manifest whose config and layers are all present is
// an image again. Names live only in images.json, so they are recovered
// from what is still readable of the damaged file and of a damaged
// images.json.prev (every complete entry before the damage); the others
// come back untagged (<none>), to be named again with edgerun tag. Names
// that images carry in their own annotations are not used: the image is
// untrusted input, and could claim the name of another one.

// rebuilt says what rebuildIndex did, for the notice.
type rebuilt struct {
	blobs      int // blobs read
	skipped    int // manifests with a blob missing or damaged
	named      int // images whose names were recovered
	nameless   []digest.Digest
	namesFound int // names recovered
}

// rebuildIndex rebuilds images.json, damaged (cause) with no usable
// previous copy, from the blobs. The caller holds the index lock. The
// damaged file is linked into the quarantine before the new index
// replaces it, so a crash in between leaves it, not an empty index that
// a prune would take for "no images".
func (s *Store) rebuildIndex(cause error) (*indexFile, error) {
	ix, res, err := s.indexFromBlobs()
	if err != nil {
		return nil, fmt.Errorf("%w, with no usable previous copy, and rebuilding it from the blobs failed: %w", cause, err)
	}
	prev := s.indexPath() + ".prev"
	for _, p := range []string{prev, s.indexPath()} { // the newer wins a name
		for d, r := range salvageIndex(p) {
			if ix.Images[d] == nil {
				continue // its blobs are gone
			}
			if r.Platform.OS != "" {
				ix.Images[d].Platform = r.Platform
			}
			if !r.Loaded.IsZero() {
				ix.Images[d].Loaded = r.Loaded
			}
			for _, n := range r.Names {
				if norm, err := ParseReference(n); err == nil && norm == n {
					ix.setName(n, d)
				}
			}
		}
	}
	for _, r := range ix.Images {
		r.NamesLost = len(r.Names) == 0
	}
	why := fmt.Sprintf("damaged image index: %v; rebuilt from the blobs", cause)
	aside, err := s.keepAside(s.indexPath(), why)
	if err != nil {
		return nil, fmt.Errorf("keep the damaged image index aside: %w", err)
	}
	data, _ := json.MarshalIndent(ix, "", "  ")
	if err := atomicfile.WriteFile(s.indexPath(), append(data, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("write the rebuilt image index: %w", err)
	}
	if _, err := os.Stat(prev); err == nil {
		// Damaged too (else it was restored): out of the way of the next
		// change, which keeps the current index there.
		_, _ = s.keepAside(prev, "damaged previous copy of the image index")
		_ = os.Remove(prev)
	}
	for d, r := range ix.Images {
		if len(r.Names) > 0 {
			res.named++
			res.namesFound += len(r.Names)
		} else {
			res.nameless = append(res.nameless, d)
		}
	}
	if s.notice != nil {
		s.notice(rebuildNotice(cause, aside, len(ix.Images), res))
	}
	return ix, nil
}

// rebuildNotice tells the user what the rebuild found and what to do.
func rebuildNotice(cause error, aside string, images int, res rebuilt) string {
	var b strings.Builder
	fmt.Fprintf(&b, "the image index was damaged (%v) and had no usable previous copy: rebuilt it from the %d blobs of the store (kept the damaged one as %s): %d images",
		cause, res.blobs, aside, images)
	if res.named > 0 {
		fmt.Fprintf(&b, ", %d of them with their %d names recovered from the readable part of the damaged index", res.named, res.namesFound)
	}
	if n := len(res.nameless); n > 0 {
		sort.Slice(res.nameless, func(i, j int) bool { return res.nameless[i] < res.nameless[j] })
		ids := make([]string, 0, n)
		for _, d := range res.nameless {
			ids = append(ids, d.Encoded()[:12])
		}
		fmt.Fprintf(&b, "; names lost for %d (%s): re-tag them with edgerun tag IMAGE-ID NAME (an image removed but not yet pruned comes back this way too: remove it again)",
			n, strings.Join(ids, ", "))
	}
	if res.skipped > 0 {
		fmt.Fprintf(&b, "; %d manifests left out, their blobs missing or damaged: load or pull those images again", res.skipped)
	}
	return b.String()
}

// indexFromBlobs finds the images of the blob folder: the manifests whose
// config and layers are stored.
func (s *Store) indexFromBlobs() (*indexFile, rebuilt, error) {
	ix := &indexFile{Version: indexVersion, Images: map[digest.Digest]*record{}}
	var res rebuilt
	ents, err := os.ReadDir(s.blobDir())
	if errors.Is(err, fs.ErrNotExist) {
		return ix, res, nil
	}
	if err != nil {
		return nil, res, err
	}
	for _, e := range ents {
		if !isHexDigest(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		res.blobs++
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		b, mtime := s.smallJSONBlob(d)
		if b == nil {
			continue
		}
		m, err := parseManifest(b, d, "")
		if err != nil {
			continue // a config, or not JSON we know
		}
		cb, _ := s.smallJSONBlob(m.Config.Digest)
		cfg, err := parseConfig(cb, m.Config.Digest, m.Layers)
		complete := cb != nil && err == nil
		for _, l := range m.Layers {
			complete = complete && s.HasBlob(l.Digest)
		}
		if !complete {
			res.skipped++
			continue
		}
		pl, _ := imagePlatform(cfg, nil, d)
		ix.Images[d] = &record{Platform: pl, Loaded: mtime.UTC()}
	}
	return ix, res, nil
}

// smallJSONBlob reads blob d when it is a JSON document within the JSON
// limit that hashes to its digest (nil otherwise), and its time.
func (s *Store) smallJSONBlob(d digest.Digest) ([]byte, time.Time) {
	if checkDigest(d) != nil {
		return nil, time.Time{}
	}
	f, err := os.Open(s.blobPath(d))
	if err != nil {
		return nil, time.Time{}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > s.jsonLimit || fi.Size() < 2 {
		return nil, time.Time{}
	}
	first := make([]byte, 1)
	if _, err := f.ReadAt(first, 0); err != nil || first[0] != '{' {
		return nil, time.Time{} // a layer, most often: not read
	}
	b, err := io.ReadAll(io.LimitReader(f, s.jsonLimit))
	if err != nil || digest.FromBytes(b) != d {
		return nil, time.Time{}
	}
	return b, fi.ModTime()
}

// salvageIndex returns the complete image entries at the start of a
// damaged index file, up to its damage: a truncated or partly overwritten
// images.json keeps the names before that point.
func salvageIndex(path string) map[digest.Digest]*record {
	out := map[digest.Digest]*record{}
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return out
	}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return out
		}
		if k != "images" {
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return out
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return out
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return out
			}
			var r record
			if dec.Decode(&r) != nil {
				return out
			}
			if key, ok := k.(string); ok && checkDigest(digest.Digest(key)) == nil {
				out[digest.Digest(key)] = &r
			}
		}
		return out
	}
	return out
}

// keepAside links a damaged file into the quarantine (with a note saying
// why), leaving it in place for the caller to replace atomically, and
// returns where it is kept.
func (s *Store) keepAside(path, why string) (string, error) {
	dir := s.quarantineDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, filepath.Base(path)+"-"+time.Now().UTC().Format("20060102T150405.000000000"))
	note := fmt.Sprintf("%s\nkept here from %s on %s\n", why, path, time.Now().UTC().Format(time.RFC3339))
	if err := atomicfile.WriteFile(dst+".QUARANTINED", []byte(note), 0o600); err != nil {
		return "", err
	}
	if err := os.Link(path, dst); err != nil {
		return "", err
	}
	return dst, atomicfile.SyncDir(dir)
}
