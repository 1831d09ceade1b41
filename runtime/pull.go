package runtime

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
func (r *Runtime) Pull(ctx context.Context, opts PullOptions) (*image.Pulled, error) {
	popts := []image.PullOption{
		image.WithRegistryConfig(opts.Registry),
		image.WithPullEvents(opts.Events),
		image.WithLayerUnpack(r.unpackLayer, r.layers.Has),
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
	return r.images.Pull(ctx, opts.Ref, popts...)
}

// unpackLayer unpacks one pulled layer into the layer cache.
func (r *Runtime) unpackLayer(ctx context.Context, l image.Layer) error {
	d := l.Desc.Digest
	_, err := r.layers.Ensure(ctx, []rootfs.Layer{{
		DiffID:    l.DiffID,
		MediaType: l.Desc.MediaType,
		Open:      func() (io.ReadCloser, error) { return r.images.OpenBlob(d) },
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

// imageForRun applies run's --pull policy and returns the stored image,
// looking it up once when it is already there.
func (r *Runtime) imageForRun(ctx context.Context, opts *RunOptions) (*image.Image, error) {
	if err := CheckPullPolicy(opts.Pull); err != nil {
		return nil, err
	}
	if opts.Pull != PullAlways {
		img, err := r.images.Get(opts.Image)
		// Present, an error other than absence, --pull never, or a bare
		// digest (it names a stored image; nothing to pull).
		if opts.Pull == PullNever || !errors.Is(err, image.ErrNotFound) || digest.Digest(opts.Image).Validate() == nil {
			return img, notStored(opts.Image, err)
		}
	}
	po := opts.PullWith
	po.Ref = opts.Image
	if po.Platform == "" {
		po.Platform = opts.Platform
	}
	if _, err := r.Pull(ctx, po); err != nil {
		return nil, err
	}
	img, err := r.images.Get(opts.Image)
	return img, notStored(opts.Image, err)
}

// notStored says what to do when run's image is not in the store.
func notStored(ref string, err error) error {
	if errors.Is(err, image.ErrNotFound) {
		return fmt.Errorf("image %q is not in the store: pull it (edgerun pull) or load it (edgerun load -i FILE)", ref)
	}
	return err
}
