package image

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/edgerun/edgerun/internal/diskspace"
	"github.com/edgerun/edgerun/sigpolicy"
)

// Pull defaults.
const (
	DefaultPullRetries  = 5
	DefaultPullParallel = 3
	defaultBackoff      = time.Second
)

// PullOptions configures Pull. The zero value pulls for the host platform
// with the default retries, backoff and parallelism, reports nothing and
// unpacks nothing. Pull never writes into it.
type PullOptions struct {
	// Platform picks this platform from multi-arch images and refuses a
	// single-platform image for another one; the zero value means the
	// host's.
	Platform ocispec.Platform
	// Registry holds mirrors, insecure registries, CA and credentials.
	Registry RegistryConfig
	// Attempts is how many times each manifest and blob is tried while it
	// fails transiently, the first try included (--retries N is N+1);
	// 0 means 1+DefaultPullRetries, and a negative value counts as 1.
	Attempts int
	// Backoff is the first wait between tries, doubling after each (up to
	// 32 times the first); 0 means one second.
	Backoff time.Duration
	// Parallel bounds how many layers download at once; 0 means
	// DefaultPullParallel, and a negative value counts as 1.
	Parallel int
	// Events, when set, receives progress events, from several goroutines
	// at once.
	Events func(PullEvent)
	// Unpack, when set, is called for each layer as soon as its blob is
	// stored, while other layers still download; the image is named only
	// after every call succeeded.
	Unpack func(context.Context, Layer) error
	// Cached, when set, says whether a layer is already unpacked, so the
	// free-space estimate leaves it out; it is asked only when Unpack is
	// set. nil counts every layer as to be unpacked.
	Cached func(diffID digest.Digest) bool
	// MinFree is how many bytes to keep free on the store's file system:
	// the pull is refused up front when the image would not leave that
	// much, and stopped while downloading when it is reached. 0 means
	// diskspace.DefaultReserve (5% of the file system, at least 256 MiB,
	// at most 4 GiB, at most a quarter of it); a negative value keeps no
	// reserve (the up-front estimate must still fit). Inodes are kept
	// free the same way (diskspace.DefaultInodeReserve), unless MinFree
	// is negative.
	MinFree int64
	// DiskSpace replaces statfs(2) as the probe of the store's file
	// system; nil means statfs.
	DiskSpace diskspace.Probe
	// Policy, when set, is the signature policy the image must satisfy
	// (its docker transport's rule for the reference), checked once the
	// reference is resolved, before the config or any layer is fetched;
	// nil accepts every image.
	Policy *sigpolicy.Policy
}

// pullConfig is Pull's plan, built from the caller's PullOptions.
type pullConfig struct {
	platform  *ocispec.Platform // nil: the host's
	reg       RegistryConfig
	retries   int // after the first try
	backoff   time.Duration
	parallel  int
	events    func(PullEvent)
	unpack    func(context.Context, Layer) error
	cached    func(digest.Digest) bool
	minFree   int64
	diskSpace diskspace.Probe
	policy    *sigpolicy.Policy
}

func newPullConfig(o PullOptions) pullConfig {
	c := pullConfig{
		platform:  requestedPlatform(o.Platform),
		reg:       o.Registry,
		retries:   DefaultPullRetries,
		backoff:   o.Backoff,
		parallel:  DefaultPullParallel,
		events:    o.Events,
		unpack:    o.Unpack,
		cached:    o.Cached,
		minFree:   o.MinFree,
		diskSpace: o.DiskSpace,
		policy:    o.Policy,
	}
	if o.Attempts != 0 {
		c.retries = max(o.Attempts-1, 0)
	}
	if c.backoff == 0 {
		c.backoff = defaultBackoff
	}
	if o.Parallel != 0 {
		c.parallel = max(o.Parallel, 1)
	}
	if c.diskSpace == nil {
		c.diskSpace = diskspace.Statfs
	}
	return c
}
