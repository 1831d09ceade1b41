package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgerun/edgerun/internal/atomicfile"
)

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

// checkStateBinding refuses a state directory that belongs to another
// root, and a second one for a root whose first still exists (both paths
// absolute). It only reads.
func checkStateBinding(root, state string) error {
	if owner, ok := readMarker(filepath.Join(state, stateRootMarker)); ok && owner != root {
		return fmt.Errorf("%w: state directory %s belongs to root %s, not %s: give each root its own --state (for example --state %s)",
			ErrStateInUse, state, owner, root, filepath.Join(filepath.Dir(state), "edgerun-"+filepath.Base(root)))
	}
	if prev, ok := readMarker(filepath.Join(root, rootStateMarker)); ok && prev != state {
		if owner, ok := readMarker(filepath.Join(prev, stateRootMarker)); ok && owner == root {
			return fmt.Errorf("%w: root %s keeps its volatile state in %s, which still exists: use --state %s (a second state directory would not lock the first one's containers out)",
				ErrStateInUse, root, prev, prev)
		}
	}
	return nil
}

// recordStateBinding writes the markers that bind root and state.
func recordStateBinding(root, state string) error {
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
