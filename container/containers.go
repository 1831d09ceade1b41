package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/ids"
)

// lookup finds a container by name, full ID or unique ID prefix.
func (r *Runtime) lookup(ref string) (*Record, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: empty container name", ErrNoSuchContainer)
	}
	if ids.ValidName(ref) {
		if id, err := os.ReadFile(filepath.Join(r.namesDir(), ref)); err == nil {
			if rec, err := r.loadRecord(string(id)); err == nil && rec.Name == ref {
				return rec, nil
			}
		}
	}
	if ids.IsHexPrefix(ref) {
		ents, err := os.ReadDir(r.containersDir())
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		var found []string
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ref) {
				if r.hasRecord(e.Name()) {
					found = append(found, e.Name())
				}
			}
		}
		switch len(found) {
		case 1:
			return r.loadRecord(found[0])
		case 0:
		default:
			return nil, fmt.Errorf("%w: %q matches %d containers: give more characters of the ID, or the name", ErrAmbiguousID, ref, len(found))
		}
	}
	return nil, fmt.Errorf("%w: %s: see edgerun ps -a", ErrNoSuchContainer, ref)
}

// refresh corrects a record that says running when its container is gone
// (edgerun was killed, or the host rebooted), so no command shows a stale
// "running".
func (r *Runtime) refresh(rec *Record) { r.refreshLocked(rec, false) }

// refreshLocked is refresh for a caller that may hold the container lock
// itself (then only the owner lock tells whether a creator is alive).
func (r *Runtime) refreshLocked(rec *Record, locked bool) {
	switch rec.State {
	case StateCreated:
		// Being created, or owned by a live process that is starting it;
		// one of edgerun create waits for start.
		if rec.Prepared || (!locked && r.lockHeld(rec.ID)) || r.owned(rec) {
			return
		}
	case StateRestarting:
		if r.owned(rec) {
			return // the monitor waits out the backoff
		}
	case StateRunning:
		if r.owned(rec) {
			// Its monitor, or the foreground edgerun, records the exit
			// (after draining the output). Without a cgroup (rootless) this
			// is also what covers the moment before libcontainer has saved
			// the state of a container that already runs.
			return
		}
		if r.initRuns(rec.ID, false) {
			return
		}
		if r.cgroupPopulated(rec.ID) {
			return // its processes run, whatever became of the runtime state
		}
	default:
		return
	}
	// The owner is gone now, but rec was read before it was asked: an
	// owner records the end before it lets go (the monitor saves the exit,
	// then exits), so the record on disk now has the last word. Without
	// this, a container that ended between the read and the probe was
	// taken for one whose owner died unseen: start -a of a short-lived
	// container answered exit code -1 (1 to the shell) under load.
	// Only an end it recorded is taken: refresh leaves a record as it was
	// or ends it, and its callers (reapLost) rely on that.
	if cur, err := r.loadRecord(rec.ID); err == nil && cur.State == StateExited && cur.FinishedAt.After(rec.FinishedAt) {
		*rec = *cur
		return
	}
	rec.State = StateExited
	rec.Pid, rec.Paused = 0, false
	if rec.ExitCode == 0 {
		rec.ExitCode = -1 // unknown: nobody saw it end
	}
}

// Containers lists containers, newest first; all includes stopped ones.
func (r *Runtime) Containers(all bool) ([]*Record, error) {
	recs, err := r.listRecords()
	if err != nil {
		return nil, err
	}
	out := recs[:0]
	for _, rec := range recs {
		r.refresh(rec)
		if all || rec.State == StateRunning {
			out = append(out, rec)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// Inspect returns the record of one container, its state made current.
func (r *Runtime) Inspect(ref string) (*Record, error) {
	rec, err := r.lookup(ref)
	if err != nil {
		return nil, err
	}
	r.refresh(rec)
	return rec, nil
}

// RemoveContainer removes a stopped container; with force it kills a
// running one first.
func (r *Runtime) RemoveContainer(ctx context.Context, ref string, force bool) (*Record, error) {
	rec, lock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer r.unlock(lock, rec.ID)
	if (rec.State == StateRunning || rec.State == StateRestarting) && !force {
		return nil, fmt.Errorf("%w: cannot remove running container %s: stop it first, or use rm -f", ErrContainerRunning, rec.Name)
	}
	if err := r.destroyLibcontainer(rec.ID); err != nil {
		return nil, fmt.Errorf("stop container %s: %w", rec.Name, err)
	}
	fault.Point("rm/after-destroy")
	err = r.removeFiles(rec)
	r.unlock(lock, rec.ID)
	// Its monitor sees the record gone and exits: do not return before.
	r.waitMonitorGone(ctx, rec, killWait)
	if err != nil {
		// A dying monitor may have written its last log lines into the
		// directory while it was being removed; it is gone now.
		err = r.removeFiles(rec)
	}
	return rec, err
}
