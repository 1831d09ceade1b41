// Package runtime owns the container lifecycle: spec generation from the
// image config and run options, create/start/wait/kill/delete through
// libcontainer, the per-container record and lock, and the orchestration of
// the image store and the layer cache. It is the only package that imports
// runc.
package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/rootfs"
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
}

// DefaultPaths returns the default persistent and volatile roots: the
// EDGERUN_ROOT and EDGERUN_STATE environment variables when set, else
// /var/lib/edgerun and /run/edgerun for root, and the XDG directories for
// other users.
func DefaultPaths(getenv func(string) string) (root, state string) {
	root, state = getenv("EDGERUN_ROOT"), getenv("EDGERUN_STATE")
	if os.Geteuid() == 0 {
		if root == "" {
			root = "/var/lib/edgerun"
		}
		if state == "" {
			state = "/run/edgerun"
		}
		return root, state
	}
	if root == "" {
		data := getenv("XDG_DATA_HOME")
		if data == "" {
			data = filepath.Join(getenv("HOME"), ".local", "share")
		}
		root = filepath.Join(data, "edgerun")
	}
	if state == "" {
		run := getenv("XDG_RUNTIME_DIR")
		if run == "" {
			run = filepath.Join(os.TempDir(), "edgerun-"+strconv.Itoa(os.Geteuid()))
		}
		state = filepath.Join(run, "edgerun")
	}
	return root, state
}

// Runtime is an open edgerun state: the image store and the layer cache
// under Config.Root, the volatile state under Config.State.
type Runtime struct {
	cfg    Config
	images *image.Store
	layers *rootfs.Cache
}

// Open opens (creating when missing) the state directories.
func Open(cfg Config) (*Runtime, error) {
	if cfg.Root == "" || cfg.State == "" {
		return nil, fmt.Errorf("edgerun needs a persistent and a volatile state directory: set --root and --state")
	}
	for _, d := range []*string{&cfg.Root, &cfg.State} {
		abs, err := filepath.Abs(*d)
		if err != nil {
			return nil, fmt.Errorf("state directory %q: %w", *d, err)
		}
		*d = abs
		if err := os.MkdirAll(*d, 0o711); err != nil {
			return nil, fmt.Errorf("create state directory: %w", err)
		}
	}
	images, err := image.Open(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("open image store under %s: %w", cfg.Root, err)
	}
	layers, err := rootfs.OpenCache(filepath.Join(cfg.Root, "layers"))
	if err != nil {
		return nil, fmt.Errorf("open layer cache under %s: %w", cfg.Root, err)
	}
	r := &Runtime{cfg: cfg, images: images, layers: layers}
	// Best effort: leftovers of crashed processes must not block the
	// command the user asked for; they are retried by the next command.
	_ = r.cleanup()
	return r, nil
}
