package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/rootfs"
	"github.com/edgerun/edgerun/sigpolicy"
)

// PullOptions are the inputs of `edgerun pull` (and of run's --pull): the
// reference and image.Pull's own options, passed on as they are (zero
// values are image.PullOptions' defaults). Unpack and Cached are ignored:
// Pull unpacks into the store's layer cache, keeping MinFree free there
// too.
type PullOptions struct {
	Ref string
	image.PullOptions
	// MaxLayerRatio bounds how many times its compressed size a layer may
	// unpack to (rootfs.UnpackOptions.MaxRatio: 0 is the default, 100;
	// negative is no limit).
	MaxLayerRatio int
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
	popts := opts.PullOptions
	pol, err := sigpolicy.Load(s.policy)
	if err != nil {
		return nil, err
	}
	if pol != nil {
		popts.Policy = pol
	}
	limits := rootfs.UnpackOptions{MaxRatio: opts.MaxLayerRatio, MinFree: opts.MinFree, DiskSpace: opts.DiskSpace}
	var fresh atomic.Bool // a layer was unpacked: say what it could not keep
	popts.Cached = s.layers.Has
	popts.Unpack = func(ctx context.Context, l image.Layer) error {
		fresh.Store(true)
		return s.unpackLayer(ctx, l, limits)
	}
	res, err := s.content.Pull(ctx, opts.Ref, popts)
	if err != nil {
		return nil, err
	}
	img, gerr := s.content.Get(res.Digest.String())
	if gerr == nil && fresh.Load() {
		s.noteOwners(imageName([]string{res.Name}, res.Digest), s.layerIDs(img))
	}
	s.event("pull", image.FamiliarName(res.Name), familiarRepo(res.Name), img)
	return res, nil
}

// unpackLayer unpacks one pulled layer into the layer cache.
func (s *Store) unpackLayer(ctx context.Context, l image.Layer, limits rootfs.UnpackOptions) error {
	d := l.Desc.Digest
	_, err := s.layers.EnsureWith(ctx, []rootfs.Layer{{
		DiffID:    l.DiffID,
		MediaType: l.Desc.MediaType,
		Open:      func() (io.ReadCloser, error) { return s.content.OpenBlob(d) },
	}}, limits)
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
// already there. opts.Ref is ref; when opts.Platform names no OS and
// architecture, a pull's platform is platform (run's --platform:
// os/arch[/variant], "" for this host).
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
	if platform != "" && opts.Platform.OS == "" && opts.Platform.Architecture == "" {
		p, err := image.ParsePlatform(platform)
		if err != nil {
			return nil, err
		}
		opts.Platform = p
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
