package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/lockfile"
	"github.com/edgerun/edgerun/rootfs"
)

// Damaged state is moved aside and reported, never deleted (issue 12): a
// container whose record is empty or corrupt may still hold a writable
// layer someone needs. Its directory moves to <root>/quarantine/<id> with
// a note saying why; ps reports it until the user removes it.

const reasonFile = "QUARANTINED"

func (r *Runtime) quarantineDir() string { return filepath.Join(r.cfg.Root, "quarantine") }

// quarantineSub is where check moves what is not a container: blobs,
// image index entries, layers (see Quarantine).
func (r *Runtime) quarantineSub(kind string) string { return filepath.Join(r.quarantineDir(), kind) }

// quarantineKinds are the quarantine's subdirectories of check.
var quarantineKinds = map[string]bool{"blobs": true, "images": true, "layers": true}

// quarantine moves the directory of container id, whose record is
// damaged (why), to the quarantine, unless its processes still run (the
// kernel says so: then it is left alone and reported by the next check).
func (r *Runtime) quarantine(id string, why error) error {
	lock, err := lockfile.TryExclusive(r.lockPath(id))
	if err != nil {
		return nil // busy: a live process is acting on it
	}
	defer r.unlock(lock, id)
	if r.cgroupPopulated(id) {
		return nil
	}
	dir := r.containerDir(id)
	if err := rootfs.Unmount(dir); err != nil {
		return fmt.Errorf("quarantine container %s: %w", id, err)
	}
	if err := os.MkdirAll(r.quarantineDir(), 0o700); err != nil {
		return fmt.Errorf("quarantine container %s: %w", id, err)
	}
	dst := filepath.Join(r.quarantineDir(), id)
	if _, err := os.Lstat(dst); err == nil {
		dst += "-" + time.Now().UTC().Format("20060102T150405.000000000")
	}
	note := fmt.Sprintf("%s\nmoved here from %s on %s\n", why, dir, time.Now().UTC().Format(time.RFC3339))
	if err := atomicfile.WriteFile(filepath.Join(dir, reasonFile), []byte(note), 0o600); err != nil {
		return fmt.Errorf("quarantine container %s: %w", id, err)
	}
	if err := atomicfile.Rename(dir, dst); err != nil {
		return fmt.Errorf("quarantine container %s: %w", id, err)
	}
	return r.destroyLibcontainer(id)
}

// Quarantined describes one quarantined container directory.
type Quarantined struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Quarantine lists the quarantined container directories, for ps and
// check to report: the user looks inside and removes them.
func (r *Runtime) Quarantine() ([]Quarantined, error) {
	ents, err := os.ReadDir(r.quarantineDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Quarantined
	for _, e := range ents {
		if quarantineKinds[e.Name()] {
			continue // check's, not containers
		}
		p := filepath.Join(r.quarantineDir(), e.Name())
		b, _ := os.ReadFile(filepath.Join(p, reasonFile))
		reason, _, _ := strings.Cut(string(b), "\n")
		out = append(out, Quarantined{Path: p, Reason: reason})
	}
	return out, nil
}
