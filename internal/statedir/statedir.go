// Package statedir owns where edgerun keeps its state and what ties the
// two directories together: the default persistent and volatile roots
// (for root and for other users, from the environment), the binding of a
// volatile state directory to exactly one persistent root, and the boot a
// state directory belongs to (the boot ID marker that tells a reboot, and
// when this boot began). It knows nothing of containers; it may import
// only internal/atomicfile and internal/fault of this module.
package statedir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/fault"
)

// BootIDFile is the kernel's ID of the running boot.
const BootIDFile = "/proc/sys/kernel/random/boot_id"

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

// A volatile state directory belongs to exactly one persistent root
// (design card), and a root uses one state directory at a time: locks in
// two places would not exclude each other, and a command looking in the
// wrong place would take live containers for dead ones. The state
// directory's marker names its root; the root's marker names its state
// directory. A root whose state directory is gone (a reboot, /run wiped)
// takes the new one.
const (
	stateRootMarker = "root"      // in --state: the root it belongs to
	rootStateMarker = "state-dir" // in --root: the state directory it uses
)

// Check refuses a state directory that belongs to another
// root, and a second one for a root whose first still exists (both paths
// absolute). It only reads.
func Check(root, state string) error {
	if owner, ok := readMarker(filepath.Join(state, stateRootMarker)); ok && owner != root {
		return fmt.Errorf("%w: state directory %s belongs to root %s, not %s: give each root its own --state (for example --state %s)",
			ErrInUse, state, owner, root, filepath.Join(filepath.Dir(state), "edgerun-"+filepath.Base(root)))
	}
	if prev, ok := readMarker(filepath.Join(root, rootStateMarker)); ok && prev != state {
		if owner, ok := readMarker(filepath.Join(prev, stateRootMarker)); ok && owner == root {
			return fmt.Errorf("%w: root %s keeps its volatile state in %s, which still exists: use --state %s (a second state directory would not lock the first one's containers out); to move it, stop the root's containers and remove %s",
				ErrInUse, root, prev, prev, prev)
		}
	}
	return nil
}

// Record writes the markers that bind root and state.
func Record(root, state string) error {
	var errs []error
	for _, m := range []struct{ path, value string }{
		{filepath.Join(state, stateRootMarker), root},
		{filepath.Join(root, rootStateMarker), state},
	} {
		if v, ok := readMarker(m.path); !ok || v != m.value {
			errs = append(errs, atomicfile.WriteFile(m.path, []byte(m.value+"\n"), 0o644))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("record which state directory root %s uses: %w", root, err)
	}
	return nil
}

// readMarker reads a marker file; false when it is missing or empty.
func readMarker(path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	v := strings.TrimSpace(string(b))
	return v, v != ""
}

// BootID returns the ID of the running boot read from file (BootIDFile
// when empty; tests point it elsewhere to simulate a reboot), "" when the
// kernel has none.
func BootID(file string) string {
	if file == "" {
		file = BootIDFile
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// BootTime is when this boot began (btime of /proc/stat), or fallback
// when the kernel does not say.
func BootTime(fallback time.Time) time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return fallback
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "btime "); ok {
			if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(s, 0).UTC()
			}
		}
	}
	return fallback
}

// NewBoot notices a reboot: when state's boot marker names another boot
// than bootID, the volatile subdirectories clear (their locks and runtime
// state describe processes of the old boot) are removed; then the marker
// names this boot. Without a boot ID (unusual kernels) nothing happens.
func NewBoot(state, bootID string, clear ...string) error {
	if bootID == "" {
		return nil
	}
	marker := filepath.Join(state, "boot-id")
	old, err := os.ReadFile(marker)
	if err == nil && strings.TrimSpace(string(old)) == bootID {
		return nil
	}
	if err == nil {
		// A different boot: nothing in the volatile root is true any more.
		for _, d := range clear {
			if err := os.RemoveAll(filepath.Join(state, d)); err != nil {
				return fmt.Errorf("clear state of the previous boot: %w", err)
			}
		}
		fault.Point("boot/after-clear")
	}
	return atomicfile.WriteFile(marker, []byte(bootID+"\n"), 0o644)
}

// ErrInUse: --state belongs to another --root, or the root uses another
// state directory that still exists.
var ErrInUse = errors.New("state directory in use")
