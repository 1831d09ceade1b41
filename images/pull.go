package images

import (
	"context"
	"errors"
	"fmt"
	"io"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/rootfs"
)

// PullOptions are the inputs of `edgerun pull` (and of run's --pull).
type PullOptions struct {
	Ref string
	// Platform picks from multi-arch images (os/arch[/variant]); "" is
	// this host.
	Platform string
	Registry image.RegistryConfig
	// Retries per blob on transient errors; Parallel bounds concurrent
	// layer downloads (0: the defaults).
	Retries  *int
	Parallel int
	// Events receives progress (nil: none); called from several goroutines.
	Events func(image.PullEvent)
}

// Pull policies of `run --pull`.
const (
	PullMissing = "missing"
	PullAlways  = "always"
	PullNever   = "never"
)

// Pull fetches an image from its registry into the store, unpacking each
// layer as soon as it has arrived; the image gets its name only when every
// layer is unpacked (the rule load follows).
func (s *Store) Pull(ctx context.Context, opts PullOptions) (*image.Pulled, error) {
	popts := []image.PullOption{
		image.WithRegistryConfig(opts.Registry),
		image.WithPullEvents(opts.Events),
		image.WithLayerUnpack(s.unpackLayer, s.layers.Has),
	}
	if opts.Platform != "" {
		p, err := image.ParsePlatform(opts.Platform)
		if err != nil {
			return nil, err
		}
		popts = append(popts, image.WithPullPlatform(p))
	}
	if opts.Retries != nil {
		popts = append(popts, image.WithRetries(*opts.Retries))
	}
	if opts.Parallel > 0 {
		popts = append(popts, image.WithParallelDownloads(opts.Parallel))
	}
	return s.content.Pull(ctx, opts.Ref, popts...)
}

// unpackLayer unpacks one pulled layer into the layer cache.
func (s *Store) unpackLayer(ctx context.Context, l image.Layer) error {
	d := l.Desc.Digest
	_, err := s.layers.Ensure(ctx, []rootfs.Layer{{
		DiffID:    l.DiffID,
		MediaType: l.Desc.MediaType,
		Open:      func() (io.ReadCloser, error) { return s.content.OpenBlob(d) },
	}})
	return err
}

// CheckPullPolicy refuses a --pull value other than missing, always, never.
func CheckPullPolicy(p string) error {
	switch p {
	case "", PullMissing, PullAlways, PullNever:
		return nil
	}
	return fmt.Errorf("invalid --pull %q: use missing, always or never", p)
}

// ForRun returns the stored image ref names, applying run's --pull policy
// (missing, always, never) and looking the image up once when it is
// already there. opts.Ref is ref; a pull's platform defaults to platform
// (run's --platform).
func (s *Store) ForRun(ctx context.Context, ref, policy, platform string, opts PullOptions) (*image.Image, error) {
	if err := CheckPullPolicy(policy); err != nil {
		return nil, err
	}
	if policy != PullAlways {
		img, err := s.content.Get(ref)
		// Present, an error other than absence, --pull never, or a bare
		// digest (it names a stored image; nothing to pull).
		if policy == PullNever || !errors.Is(err, image.ErrNotFound) || digest.Digest(ref).Validate() == nil {
			return img, notStored(ref, err)
		}
	}
	opts.Ref = ref
	if opts.Platform == "" {
		opts.Platform = platform
	}
	if _, err := s.Pull(ctx, opts); err != nil {
		return nil, err
	}
	img, err := s.content.Get(ref)
	return img, notStored(ref, err)
}

// notStored says what to do when run's image is not in the store.
func notStored(ref string, err error) error {
	if errors.Is(err, image.ErrNotFound) {
		return fmt.Errorf("image %q is not in the store: pull it (edgerun pull) or load it (edgerun load -i FILE)", ref)
	}
	return err
}
