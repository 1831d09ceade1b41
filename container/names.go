package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgerun/edgerun/internal/atomicfile"
)

func (r *Runtime) namesDir() string { return filepath.Join(r.cfg.Root, "names") }

// reserveName atomically claims name for id. A claim whose container has
// no record and is not being created by a live process is stale (a crash
// during create) and is taken over. Without durable (a --rm container)
// nothing is fsynced: a claim lost or emptied by a power loss is stale.
func (r *Runtime) reserveName(name, id string, durable bool) error {
	if err := os.MkdirAll(r.namesDir(), 0o700); err != nil {
		return fmt.Errorf("create names dir: %w", err)
	}
	final := filepath.Join(r.namesDir(), name)
	for attempt := 0; attempt < 3; attempt++ {
		// The ID is in the temp file's name too: a create killed before
		// it wrote the file leaves one that cleanup can still judge.
		tmp, err := os.CreateTemp(r.namesDir(), claimTempPrefix+id+"-*")
		if err != nil {
			return fmt.Errorf("claim name %s: %w", name, err)
		}
		_, werr := tmp.WriteString(id)
		var serr error
		if durable {
			serr = tmp.Sync()
		}
		tmp.Close()
		if err := errors.Join(werr, serr); err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("claim name %s: %w", name, err)
		}
		// link(2) fails with EEXIST if the name is claimed: an atomic test-and-set.
		err = os.Link(tmp.Name(), final)
		os.Remove(tmp.Name())
		if err == nil && !durable {
			return nil
		}
		if err == nil {
			return atomicfile.SyncDir(r.namesDir())
		}
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("claim name %s: %w", name, err)
		}
		owner, rerr := os.ReadFile(final)
		if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return fmt.Errorf("read claim of name %s: %w", name, rerr)
		}
		if r.containerExists(string(owner)) && !r.renamedFrom(string(owner), name) {
			return fmt.Errorf("%w: the name %q is already in use by container %.12s: remove it (edgerun rm %s) or choose another name",
				ErrNameInUse, name, owner, name)
		}
		// Stale claim: remove it and try again.
		if err := os.Remove(final); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove stale claim of name %s: %w", name, err)
		}
	}
	return fmt.Errorf("%w: the name %q is being claimed by another edgerun at the same time", ErrNameInUse, name)
}

// releaseName drops the claim of name if it still belongs to id; durable
// makes the removal survive a power loss (a claim that comes back without
// its container's record is stale anyway, so --rm containers skip it).
func (r *Runtime) releaseName(name, id string, durable bool) error {
	final := filepath.Join(r.namesDir(), name)
	owner, err := os.ReadFile(final)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if string(owner) != id {
		return nil
	}
	if err := os.Remove(final); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if !durable {
		return nil
	}
	return atomicfile.SyncDir(r.namesDir())
}

// containerExists says whether id has a record or is being created by a
// live process (its lock is held).
func (r *Runtime) containerExists(id string) bool {
	if id == "" {
		return false
	}
	if r.hasRecord(id) {
		return true
	}
	return r.lockHeld(id)
}

// claimTempPrefix starts the temp file of a name claim: .claim-<id>-<random>.
const claimTempPrefix = ".claim-"

// claimTempOwner is the container ID a claim's temp file is for: from its
// name, else (an older edgerun's .claim-<random>) its content.
func claimTempOwner(name string, content []byte) string {
	rest := strings.TrimPrefix(name, claimTempPrefix)
	if id, _, ok := strings.Cut(rest, "-"); ok && len(id) == 64 {
		return id
	}
	return string(content)
}

// renamedFrom says whether container id's record names another name than
// name and no rename holds its lock: the claim is what a rename
// interrupted by a crash left behind.
func (r *Runtime) renamedFrom(id, name string) bool {
	if r.lockHeld(id) {
		return false
	}
	rec, err := r.loadRecord(id)
	return err == nil && rec.Name != name
}
