package image

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/edgerun/edgerun/internal/diskspace"
	"github.com/edgerun/edgerun/internal/fault"
)

// MaxLoadNames is the most names one load may give its images (the
// input's names and --name together). A gateway keeps a handful; a 3 MB
// layout naming 10,000 images is an attack on the index (images.json is
// read by every run), and a bigger set of names can be loaded in parts.
const MaxLoadNames = 1000

// Loaded is one image Load stored.
type Loaded struct {
	Names    []string
	Digest   digest.Digest // platform-specific manifest
	Platform ocispec.Platform
}

// Progress reports a blob Load has verified and stored.
type Progress struct {
	Digest digest.Digest
	Size   int64
}

// LoadOptions configures Load. The zero value loads for the host platform
// and adds no name.
type LoadOptions struct {
	// Name tags the loaded image with this reference (input with several
	// images is refused); "" adds no name.
	Name string
	// Platform picks this platform from multi-arch indexes; the zero value
	// means the host's.
	Platform ocispec.Platform
	// Progress, when set, is called for each blob stored.
	Progress func(Progress)
	// MinFree is how many bytes to keep free on the store's file system:
	// Load checks before it stages anything and as it writes, and stops
	// with ErrNoSpace while that much is left. 0 means
	// diskspace.DefaultReserve (5% of the file system, at least 256 MiB,
	// at most 4 GiB, at most a quarter of it); a negative value checks
	// nothing. Inodes are kept free the same way
	// (diskspace.DefaultInodeReserve). (Unpacking in BeforeTag keeps its
	// own, rootfs's, reserve.)
	MinFree int64
	// DiskSpace replaces statfs(2) as the probe of the store's file
	// system; nil means statfs.
	DiskSpace diskspace.Probe
	// BeforeTag, when set, is called for each image after its blobs are
	// stored and before any name points at it; an error aborts the load
	// and leaves the image unnamed (its blobs are garbage for Prune). The
	// runtime unpacks the layers here, so a hostile layer never gets a
	// name.
	BeforeTag func(context.Context, *Image) error
}

// blobSource hands out verified, staged blobs of the input.
type blobSource interface {
	blob(ctx context.Context, desc ocispec.Descriptor) (*ingest, error)
	close() // discards whatever was staged and not committed
}

// entry is one image named at the top of the input.
type entry struct {
	desc  ocispec.Descriptor
	names []string
	// tag is an OCI layout's ref.name that is only a tag ("latest"): the
	// image needs a name from --name.
	tag string
}

// Load imports the images in src: an OCI image layout directory, an OCI
// archive, or a docker-save archive (plain or gzip-compressed); src "-"
// reads the archive from stdin. From a multi-arch index only the manifest
// for the host (or opts.Platform) platform is stored, with its config and
// layers. Nothing becomes visible unless every blob of the image verified.
func (s *Store) Load(ctx context.Context, src string, stdin io.Reader, opts LoadOptions) ([]Loaded, error) {
	var name string
	if opts.Name != "" {
		n, err := ParseReference(opts.Name)
		if err != nil {
			return nil, fmt.Errorf("load: --name: %w", err)
		}
		name = n
	}
	want := HostPlatform()
	if p := requestedPlatform(opts.Platform); p != nil {
		want = *p
	}
	l, err := s.writerLock(ctx)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	space := diskspace.NewGuard(s.ingestDir(), opts.MinFree, opts.DiskSpace)
	if err := space.Check(); err != nil {
		return nil, fmt.Errorf("load %s: %w", inputName(src), noSpace(err))
	}
	bs, entries, err := s.openInput(ctx, src, stdin, want, space)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", inputName(src), err)
	}
	defer bs.close()
	if err := needNames(entries, name); err != nil {
		return nil, fmt.Errorf("load %s: %w", inputName(src), err)
	}
	if n := countNames(entries, name); n > MaxLoadNames {
		return nil, fmt.Errorf("load %s: %w", inputName(src),
			invalidf("the input gives %d image names, a load takes at most %d names: load it in parts", n, MaxLoadNames))
	}
	im := &importer{s: s, src: bs, want: want, used: map[digest.Digest]*ingest{}}
	res, err := im.resolveAll(ctx, entries)
	if err == nil && name != "" {
		if len(res) != 1 {
			err = fmt.Errorf("--name tags one image but the input holds %d: load without --name, then use edgerun tag", len(res))
		} else {
			res[0].Names = appendName(res[0].Names, name)
		}
	}
	if err == nil {
		fault.Point("load/after-ingest")
		err = im.commit(ctx, res, opts.Progress, opts.BeforeTag)
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", inputName(src), err)
	}
	fault.Point("load/after-index")
	return res, nil
}

// needNames refuses to load an image an OCI layout names only by a tag
// unless --name gives its name.
func needNames(entries []entry, name string) error {
	if name != "" {
		return nil
	}
	for _, e := range entries {
		if e.tag != "" && len(e.names) == 0 {
			return fmt.Errorf("the layout names its image only by the tag %q (org.opencontainers.image.ref.name), "+
				"which is no image name: load it with --name NAME:%s", e.tag, e.tag)
		}
	}
	return nil
}

// countNames counts the distinct names the entries (and extra, when set)
// would give.
func countNames(entries []entry, extra string) int {
	seen := map[string]bool{}
	if extra != "" {
		seen[extra] = true
	}
	for _, e := range entries {
		for _, n := range e.names {
			seen[n] = true
		}
	}
	return len(seen)
}

func inputName(src string) string {
	if src == "-" {
		return "from stdin"
	}
	return src
}

// openInput detects the input format and lists the images at its top.
// Streams (stdin, a pipe) are read through a cancelReader, so a stalled
// writer cannot keep a load, and the store lock it holds, for ever.
func (s *Store) openInput(ctx context.Context, src string, stdin io.Reader, want ocispec.Platform, space *diskspace.Guard) (blobSource, []entry, error) {
	var r io.Reader
	if src == "-" {
		if stdin == nil {
			return nil, nil, fmt.Errorf("no stdin to read the archive from")
		}
		r = newCancelReader(ctx, stdin)
	} else {
		kind, err := classifyInput(src)
		if err != nil {
			return nil, nil, err
		}
		var f *os.File
		switch kind {
		case inputLayout:
			ld := &layoutDir{s: s, space: space, dir: src, staged: map[digest.Digest]*ingest{}}
			es, err := ld.entries(want)
			return ld, es, err
		case inputFile:
			f, err = openRegular(src)
			r = f
		case inputStream:
			f, err = openStream(ctx, src)
			r = newCancelReader(ctx, f)
		}
		if err != nil {
			return nil, nil, err
		}
		defer f.Close()
	}
	a, err := s.readArchive(ctx, r, space)
	if err != nil {
		return nil, nil, err
	}
	es, err := a.entries(ctx, want)
	if err != nil {
		a.close()
		return nil, nil, err
	}
	return a, es, nil
}

func appendName(names []string, n string) []string {
	for _, x := range names {
		if x == n {
			return names
		}
	}
	return append(names, n)
}

// commit publishes the verified blobs of the chosen images, then points
// their names at them. Blobs first: a crash in between leaves unnamed
// blobs for Prune, never a name without its blobs.
func (im *importer) commit(ctx context.Context, res []Loaded, progress func(Progress), before func(context.Context, *Image) error) error {
	for d, w := range im.used {
		if err := w.commit(); err != nil {
			return err
		}
		fault.Point("load/after-blob")
		if progress != nil {
			progress(Progress{Digest: d, Size: w.n})
		}
	}
	if before != nil {
		for _, r := range res {
			img, err := im.s.image(r.Digest, &record{Names: r.Names, Platform: r.Platform})
			if err != nil {
				return err
			}
			if err := before(ctx, img); err != nil {
				return err
			}
		}
	}
	fault.Point("load/before-index")
	now := im.s.now().UTC()
	return im.s.updateIndex(ctx, func(ix *indexFile) error {
		for _, r := range res {
			if ix.Images[r.Digest] == nil {
				ix.Images[r.Digest] = &record{Platform: r.Platform, Loaded: now}
			}
			for _, n := range r.Names {
				ix.setName(n, r.Digest)
			}
		}
		return nil
	})
}
