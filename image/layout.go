package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/diskspace"
)

// layoutDir is an OCI image layout directory. Blobs are copied into the
// store only when an image needs them, verified while copying.
type layoutDir struct {
	s      *Store
	space  *diskspace.Guard
	dir    string
	staged map[digest.Digest]*ingest
}

var _ blobSource = (*layoutDir)(nil)

func (l *layoutDir) entries(want ocispec.Platform) ([]entry, error) {
	read := func(name string) ([]byte, error) {
		f, err := openRegular(filepath.Join(l.dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return readCapped(f, l.s.jsonLimit, name)
	}
	layout, err := read(ocispec.ImageLayoutFile)
	if err != nil {
		return nil, err
	}
	index, err := read(ocispec.ImageIndexFile)
	if err != nil {
		return nil, err
	}
	if layout == nil && index == nil {
		return nil, fmt.Errorf("%w: directory %s has no oci-layout or index.json", ErrUnknownFormat, l.dir)
	}
	return ociEntries(layout, index, want)
}

func (l *layoutDir) blob(ctx context.Context, desc ocispec.Descriptor) (*ingest, error) {
	if err := checkDigest(desc.Digest); err != nil {
		return nil, err
	}
	if w := l.staged[desc.Digest]; w != nil {
		return w, checkSize(w, desc)
	}
	p := filepath.Join(l.dir, ocispec.ImageBlobsDir, "sha256", desc.Digest.Encoded())
	f, err := openRegular(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, invalidf("blob %s is missing from the layout", desc.Digest)
	}
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	defer f.Close()
	w, err := l.s.ingestFrom(ctx, f, desc.Digest, desc.Size, l.space)
	if err != nil {
		return nil, err
	}
	l.staged[desc.Digest] = w
	return w, nil
}

// openRegular opens a file of a layout for reading and refuses anything
// but a regular file: opening a FIFO waits for a writer and reading it may
// never end, and a device never ends either. O_NONBLOCK keeps the open of
// a FIFO from waiting (it means nothing for a regular file); fstat then
// says what was opened. Symlinks are followed: tools that build layouts
// may link blobs into a shared store, and what they lead to is checked
// here and verified against its digest like any blob.
func openRegular(p string) (*os.File, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fstat", Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, invalidf("%s is not a regular file but %s: an OCI layout holds only regular files and directories",
			p, fileKind(st.Mode))
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fcntl", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

func fileKind(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFDIR:
		return "a directory"
	}
	return "not a file"
}

func (l *layoutDir) close() {
	for _, w := range l.staged {
		w.discard()
	}
}

func checkSize(w *ingest, desc ocispec.Descriptor) error {
	if w.n != desc.Size {
		return fmt.Errorf("blob %s: %w: %d bytes, descriptor says %d", desc.Digest, ErrDigestMismatch, w.n, desc.Size)
	}
	return nil
}

// ociEntries lists the images of an OCI layout from its oci-layout and
// index.json files. Top-level manifests that carry a platform and share a
// name are one multi-arch image: only the wanted platform's is kept.
func ociEntries(layout, index []byte, want ocispec.Platform) ([]entry, error) {
	if layout == nil {
		return nil, invalidf("oci-layout file is missing")
	}
	var lay ocispec.ImageLayout
	if err := json.Unmarshal(layout, &lay); err != nil {
		return nil, invalidf("oci-layout is not valid JSON: %v", err)
	}
	if !strings.HasPrefix(lay.Version, "1.") {
		return nil, invalidf("oci-layout version %q is not supported: want 1.x", lay.Version)
	}
	if index == nil {
		return nil, invalidf("index.json is missing")
	}
	idx, err := parseIndex(index, "index.json", "")
	if err != nil {
		return nil, err
	}
	if len(idx.Manifests) == 0 {
		return nil, invalidf("index.json lists no images")
	}
	var out []entry
	groups := map[string][]ocispec.Descriptor{}
	var order []string
	for _, d := range idx.Manifests {
		n, err := annotatedName(d.Annotations)
		if err != nil {
			return nil, err
		}
		if d.Platform != nil && isManifestType(d.MediaType) {
			if groups[n] == nil {
				order = append(order, n)
			}
			groups[n] = append(groups[n], d)
			continue
		}
		out = append(out, entry{desc: d, names: nonEmpty(n), tag: layoutTag(d.Annotations)})
	}
	for _, n := range order {
		if len(groups[n]) == 1 {
			d := groups[n][0]
			out = append(out, entry{desc: d, names: nonEmpty(n), tag: layoutTag(d.Annotations)})
			continue
		}
		d, err := selectPlatform(groups[n], want)
		if err != nil {
			return nil, fmt.Errorf("index.json: %w", err)
		}
		out = append(out, entry{desc: d, names: nonEmpty(n), tag: layoutTag(d.Annotations)})
	}
	return out, nil
}

func nonEmpty(n string) []string {
	if n == "" {
		return nil
	}
	return []string{n}
}
