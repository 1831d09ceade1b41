package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/sys/userns"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/edgerun/edgerun/oci"
)

// OCIConfig configures the OCI runtime face: the runc-compatible command
// line that containerd's runc shim, conmon (podman) and the runtime-spec
// validation suite drive (`edgerun oci`, or the binary named edgerun-oci).
type OCIConfig struct {
	// Root holds the face's container states (--root), one directory per
	// container; engines give each namespace a root of its own.
	Root string
	// SystemdCgroup: cgroupsPath is systemd's slice:prefix:name and the
	// cgroup is made through systemd (--systemd-cgroup).
	SystemdCgroup bool
	// Rootless is runc's --rootless: "true", "false", or "" and "auto" to
	// decide from the user (not root, or root of a user namespace).
	Rootless string
	// Log receives libcontainer's own log lines (the container init's
	// among them) in LogFormat, at debug level with Debug.
	Log       io.Writer
	LogFormat string
	Debug     bool
}

// OCIRuntime is the OCI runtime face. It shares the core of edgerun's own
// containers (the spec → libcontainer conversion, processes, stdio and
// pty relay, signal forwarding, kill-and-destroy, exit codes) but keeps
// no records of its own: the engine that drives it owns names, images,
// networks and restarts, and libcontainer's state under Root is all the
// state there is.
type OCIRuntime struct {
	cfg             OCIConfig
	rootlessEUID    bool
	rootlessCgroups bool
}

// OpenOCI checks the configuration, creates Root when missing and points
// libcontainer's log at cfg.Log.
func OpenOCI(cfg OCIConfig) (*OCIRuntime, error) {
	if cfg.Root == "" {
		return nil, errors.New("the OCI runtime needs a state directory: set --root")
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("state directory %q: %w", cfg.Root, err)
	}
	cfg.Root = root
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create the state directory: %w", err)
	}
	o := &OCIRuntime{cfg: cfg, rootlessEUID: os.Geteuid() != 0}
	switch cfg.Rootless {
	case "true":
		o.rootlessCgroups = true
	case "false":
	case "", "auto":
		// As root of a user namespace (rootless podman) the cgroups are
		// usually not ours to write, unless systemd made them for us.
		o.rootlessCgroups = o.rootlessEUID || (userns.RunningInUserNS() && !cfg.SystemdCgroup)
	default:
		return nil, fmt.Errorf("--rootless %q: use true, false or auto", cfg.Rootless)
	}
	configureLibcontainerLog(cfg)
	return o, nil
}

// configureLibcontainerLog points logrus, libcontainer's logger (a
// package-level one: there is no handle to pass), at the --log writer.
func configureLibcontainerLog(cfg OCIConfig) {
	if cfg.Log == nil {
		return
	}
	logrus.SetOutput(cfg.Log)
	if cfg.LogFormat == oci.LogJSON {
		logrus.SetFormatter(&logrus.JSONFormatter{})
	} else {
		logrus.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	}
	if cfg.Debug {
		logrus.SetLevel(logrus.DebugLevel)
	} else {
		logrus.SetLevel(logrus.InfoLevel)
	}
}

// ErrNoContainer: no container of that ID is in the OCI runtime's root.
var ErrNoContainer = errors.New("no such container")

// load opens the container id of the root.
func (o *OCIRuntime) load(id string) (*libcontainer.Container, error) {
	if err := oci.CheckID(id); err != nil {
		return nil, err
	}
	c, err := libcontainer.Load(o.cfg.Root, id)
	if err != nil {
		if errors.Is(err, libcontainer.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s in %s (list shows the containers there)", ErrNoContainer, id, o.cfg.Root)
		}
		return nil, fmt.Errorf("load container %s: %w", id, err)
	}
	return c, nil
}

// State is the container's state document.
func (o *OCIRuntime) State(id string) (*oci.State, error) {
	c, err := o.load(id)
	if err != nil {
		return nil, err
	}
	return ociState(c)
}

func ociState(c *libcontainer.Container) (*oci.State, error) {
	st, err := c.Status()
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.ID(), err)
	}
	s, err := c.State()
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", c.ID(), err)
	}
	cfg := c.Config()
	bundle, annotations := utils.Annotations(cfg.Labels)
	out := &oci.State{
		OCIVersion: specs.Version, ID: c.ID(), Status: st.String(), Pid: s.InitProcessPid,
		Bundle: bundle, Rootfs: s.Config.Rootfs, Created: s.Created, Annotations: annotations,
	}
	if st == libcontainer.Stopped {
		out.Pid = 0
	}
	if s.Config.RootlessEUID {
		out.Owner = fmt.Sprint(os.Geteuid())
	}
	return out, nil
}

// List is the state of every container of the root, by ID. A directory
// that is not a container (an interrupted create) is left out.
func (o *OCIRuntime) List() ([]oci.State, error) {
	entries, err := os.ReadDir(o.cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("read the state directory: %w", err)
	}
	var out []oci.State
	for _, e := range entries {
		if !e.IsDir() || oci.CheckID(e.Name()) != nil {
			continue
		}
		c, err := libcontainer.Load(o.cfg.Root, e.Name())
		if err != nil {
			continue
		}
		if s, err := ociState(c); err == nil {
			out = append(out, *s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// notRunning words libcontainer's ErrNotRunning for the user.
func notRunning(id string, err error) error {
	if errors.Is(err, libcontainer.ErrNotRunning) {
		return fmt.Errorf("container %s is not running", id)
	}
	return err
}

// bundleOf is the bundle a container was created from.
func bundleOf(c *libcontainer.Container) string {
	b, _ := utils.Annotations(c.Config().Labels)
	return strings.TrimSpace(b)
}
