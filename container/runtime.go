// Package container owns the container lifecycle through libcontainer:
// create, start, wait, stop, kill, exec and remove, the per-container
// record, name claim and locks, the detached monitor, the cleanup after
// crashes and reboots, and the orchestration of a run (spec, root file
// system, network, image). It is the only package that imports runc; it
// may not import cmd/edgerun or relay.
package container

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/images"
	"github.com/edgerun/edgerun/internal/statedir"
	"github.com/edgerun/edgerun/rootless"
	"github.com/edgerun/edgerun/sigpolicy"
)

// Config says where edgerun keeps its state.
type Config struct {
	// Root is the persistent root: blobs, image index, layers, containers.
	Root string
	// State is the volatile root: locks, libcontainer state, netns mounts.
	State string
	// Bridge and Subnet configure bridge networking (--bridge, --subnet);
	// empty means netns.DefaultBridge and netns.DefaultSubnet.
	Bridge, Subnet string
	// BootIDFile holds the ID of the running boot (default the kernel's
	// /proc/sys/kernel/random/boot_id); tests point it elsewhere to
	// simulate a reboot.
	BootIDFile string
	// Notice receives messages for the user about state edgerun found
	// damaged and repaired; nil drops them.
	Notice func(string)
	// Rootless says edgerun runs as an ordinary user, in the user's
	// session namespaces (package rootless): root in a user namespace.
	Rootless bool
	// Events is the event journal every change of a container, image,
	// volume or network is appended to (events.Open(Root, ...)); nil
	// records none.
	Events *events.Journal
	// SignaturePolicy is the signature policy file pulls and loads obey
	// (sigpolicy.Source; the zero value is none).
	SignaturePolicy sigpolicy.Source
}

// Runtime is an open edgerun state: containers and the image store under
// Config.Root, the volatile state under Config.State. The image store is
// opened when first needed (commands such as ps, stop or a container's
// monitor mostly do not).
type Runtime struct {
	cfg Config

	imagesOnce sync.Once
	images     *images.Store
	imagesErr  error

	cgroupCache

	sessionOnce sync.Once
	sess        *rootless.Session
}

// Open opens (creating when missing) the state directories.
func Open(cfg Config) (*Runtime, error) {
	r, err := openRoots(cfg, true)
	if err != nil {
		return nil, err
	}
	// Best effort: leftovers of crashed processes must not block the
	// command the user asked for; they are retried by the next command.
	_ = r.cleanup()
	return r, nil
}

// openRoots opens the state directories without the cleanup; create
// makes them when missing and records their binding (without it nothing
// is written: check without --repair).
func openRoots(cfg Config, create bool) (*Runtime, error) {
	if cfg.Root == "" || cfg.State == "" {
		return nil, fmt.Errorf("edgerun needs a persistent and a volatile state directory: set --root and --state")
	}
	for _, d := range []*string{&cfg.Root, &cfg.State} {
		abs, err := filepath.Abs(*d)
		if err != nil {
			return nil, fmt.Errorf("state directory %q: %w", *d, err)
		}
		*d = abs
	}
	// Refuse a state directory of another root before creating anything.
	if err := statedir.Check(cfg.Root, cfg.State); err != nil {
		return nil, err
	}
	if !create {
		return &Runtime{cfg: cfg}, nil
	}
	for _, d := range []string{cfg.Root, cfg.State} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("create state directory: %w", err)
		}
	}
	if err := statedir.Record(cfg.Root, cfg.State); err != nil {
		return nil, err
	}
	return &Runtime{cfg: cfg}, nil
}

// Images is the image store under the persistent root, opened on first use.
func (r *Runtime) Images() (*images.Store, error) {
	r.imagesOnce.Do(func() {
		r.images, r.imagesErr = images.Open(r.cfg.Root, images.Options{Notice: r.cfg.Notice, Events: r.cfg.Events, Policy: r.cfg.SignaturePolicy})
	})
	return r.images, r.imagesErr
}
