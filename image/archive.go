package image

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/edgerun/edgerun/internal/diskspace"
)

// maxArchiveBlobs bounds how many files one archive may stage.
const maxArchiveBlobs = 4096

// maxArchivePadding bounds the zeros accepted after a tar's end-of-archive
// marker: tar pads its output to whole records (GNU tar: 10 KiB; tapes
// use larger ones).
const maxArchivePadding = 1 << 20

// archive is an OCI or docker-save tar read in one pass. Entries may come
// in any order, so every candidate blob is streamed into ingest/ while it
// is hashed (one copy on disk, never the archive and an extracted tree);
// small metadata files are kept in memory, size-capped.
type archive struct {
	s     *Store
	space *diskspace.Guard
	blobs map[digest.Digest]*ingest
	paths map[string]digest.Digest // archive path → digest of its content
	links map[string]string        // symlink/hardlink path → target path
	meta  map[string][]byte        // index.json, oci-layout, manifest.json, repositories
}

var _ blobSource = (*archive)(nil)

var metadataFiles = map[string]bool{
	ocispec.ImageIndexFile: true, ocispec.ImageLayoutFile: true, "manifest.json": true, "repositories": true,
}

// readArchive reads a tar stream, gunzipping it first if it is compressed.
func (s *Store) readArchive(ctx context.Context, r io.Reader, space *diskspace.Guard) (_ *archive, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var in io.Reader = br
	compressed := false
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		compressed = true
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: bad gzip stream: %w", ErrUnknownFormat, err)
		}
		defer zr.Close()
		in = zr
	}
	a := &archive{s: s, space: space, blobs: map[digest.Digest]*ingest{}, paths: map[string]digest.Digest{},
		links: map[string]string{}, meta: map[string][]byte{}}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	tr := tar.NewReader(in)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if err := checkArchiveEnd(in, compressed); err != nil {
				return nil, err
			}
			return a, nil
		}
		if err != nil {
			return nil, archiveErr(err)
		}
		if err := a.add(ctx, hdr, tr); err != nil {
			return nil, err
		}
	}
}

// checkArchiveEnd reads the input to its end after the tar's end-of-archive
// marker: only record padding (zeros) may follow, so that a damaged file,
// or two files joined, is not loaded as if nothing were wrong. In a gzip
// stream, reading to the end also verifies the last member's checksum;
// more gzip members may follow (concatenated members are one stream, as
// gzip -d reads them), anything else may not.
func checkArchiveEnd(in io.Reader, compressed bool) error {
	buf := make([]byte, 32<<10)
	var n int64
	for {
		m, err := in.Read(buf)
		for _, b := range buf[:m] {
			if b != 0 {
				return fmt.Errorf("%w: there is data after the end of the tar archive: the file is damaged or two files were joined: save or copy it again", ErrUnknownFormat)
			}
		}
		if n += int64(m); n > maxArchivePadding {
			return fmt.Errorf("%w: more than %d bytes of padding after the end of the tar archive", ErrUnknownFormat, maxArchivePadding)
		}
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case compressed && (errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF)):
			return fmt.Errorf("%w: the archive has data after the end of its gzip stream that is not gzip (trailing garbage, or a truncated file): save or copy it again", ErrUnknownFormat)
		case err != nil:
			return archiveErr(err)
		}
	}
}

func archiveErr(err error) error {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("archive is truncated: %w: copy or save it again", err)
	case errors.Is(err, tar.ErrHeader), errors.Is(err, tar.ErrFieldTooLong), errors.Is(err, tar.ErrInsecurePath):
		return fmt.Errorf("%w: %w", ErrUnknownFormat, err)
	}
	return fmt.Errorf("read archive: %w", err)
}

func cleanPath(p string) string {
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}

func (a *archive) add(ctx context.Context, hdr *tar.Header, r io.Reader) error {
	name := cleanPath(hdr.Name)
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		t := hdr.Linkname
		if !path.IsAbs(t) {
			t = path.Join(path.Dir(name), t)
		}
		a.links[name] = cleanPath(t)
		return nil
	case tar.TypeLink:
		a.links[name] = cleanPath(hdr.Linkname)
		return nil
	case tar.TypeReg:
	default:
		return nil // directories and anything else carry no image data
	}
	base := path.Base(name)
	switch {
	case metadataFiles[name]:
		if hdr.Size > a.s.jsonLimit {
			return fmt.Errorf("archive file %s is %d bytes: %w (limit %d)", name, hdr.Size, ErrTooLarge, a.s.jsonLimit)
		}
		b, err := readCapped(r, a.s.jsonLimit, name)
		if err != nil {
			return archiveErr(err)
		}
		a.meta[name] = b
		return nil
	case strings.Contains(name, "/") && (base == "json" || base == "VERSION") && !strings.HasPrefix(name, "blobs/"):
		return nil // legacy docker v1 metadata, not used
	}
	if len(a.blobs) >= maxArchiveBlobs {
		return invalidf("archive holds more than %d files", maxArchiveBlobs)
	}
	var want digest.Digest
	if rest, ok := strings.CutPrefix(name, ocispec.ImageBlobsDir+"/"); ok {
		want = digest.Digest(strings.Replace(rest, "/", ":", 1))
		if err := checkDigest(want); err != nil {
			return fmt.Errorf("archive entry %s is not a blob name: %w", name, err)
		}
	}
	return a.stage(ctx, name, want, hdr.Size, r)
}

func (a *archive) stage(ctx context.Context, name string, want digest.Digest, size int64, r io.Reader) error {
	w, err := a.s.ingestFrom(ctx, r, want, size, a.space)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return archiveErr(err)
		}
		return fmt.Errorf("archive entry %s: %w", name, err)
	}
	d := w.got
	if old := a.blobs[d]; old != nil {
		w.discard() // same content twice: keep one copy
	} else {
		a.blobs[d] = w
	}
	a.paths[name] = d
	return nil
}

func (a *archive) blob(_ context.Context, desc ocispec.Descriptor) (*ingest, error) {
	if err := checkDigest(desc.Digest); err != nil {
		return nil, err
	}
	w := a.blobs[desc.Digest]
	if w == nil {
		return nil, invalidf("blob %s is missing from the archive", desc.Digest)
	}
	return w, checkSize(w, desc)
}

// byPath finds the content of an archive path, following links.
func (a *archive) byPath(p string) (*ingest, error) {
	p = cleanPath(p)
	for range 16 {
		if d, ok := a.paths[p]; ok {
			return a.blobs[d], nil
		}
		t, ok := a.links[p]
		if !ok {
			break
		}
		p = t
	}
	return nil, invalidf("file %s named in manifest.json is not in the archive", p)
}

func (a *archive) close() {
	for _, w := range a.blobs {
		w.discard()
	}
}

// entries tells an OCI archive (index.json, also written by docker 25+)
// from a legacy docker-save one (manifest.json only).
func (a *archive) entries(ctx context.Context, want ocispec.Platform) ([]entry, error) {
	if idx, ok := a.meta[ocispec.ImageIndexFile]; ok {
		return ociEntries(a.meta[ocispec.ImageLayoutFile], idx, want)
	}
	if m, ok := a.meta["manifest.json"]; ok {
		return a.dockerEntries(ctx, m)
	}
	return nil, fmt.Errorf("%w: the archive has neither index.json (OCI) nor manifest.json (docker save)", ErrUnknownFormat)
}
