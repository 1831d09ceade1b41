package container

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/edgerun/edgerun/internal/lockfile"
	"github.com/edgerun/edgerun/internal/statedir"
	"github.com/edgerun/edgerun/rootfs"
)

// cleanup removes what crashed or killed edgerun processes left behind, so
// every command starts from a true state:
//   - after a reboot (a new boot ID), volatile state of the old boot;
//   - containers whose creation never finished (a directory without a
//     record, not locked by a live process);
//   - libcontainer state of containers that have no record;
//   - containers recorded as running whose processes are gone: their
//     cgroup and mount are released and they are recorded as exited;
//   - the mount of a stopped container whose start was killed.
//
// It is best effort: a failure here must not stop the command the user
// asked for, so errors are returned only for reporting.
func (r *Runtime) cleanup() error {
	var errs []error
	errs = append(errs, statedir.NewBoot(r.cfg.State, r.bootID(), "libcontainer", "locks", "health", "exits", "stdin"))
	ents, err := os.ReadDir(r.containersDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	known := map[string]bool{}
	// present: the containers this sweep found alive or with a readable
	// record, and left in place. The sweeps below take them as existing
	// without asking the disk again (a stat each, four times over, made
	// this sweep grow with the containers); for any other ID they ask.
	present := map[string]bool{}
	for _, e := range ents {
		id := e.Name()
		if !e.IsDir() || strings.HasPrefix(id, ".") {
			continue
		}
		known[id] = true
		// The owner lock first: a running container's is held, and one
		// probe answers for it.
		if r.ownerAlive(id) || r.lockHeld(id) {
			present[id] = true
			continue
		}
		rec, err := r.loadRecord(id)
		if err == nil && monitorAlive(rec) {
			present[id] = true
			continue // its owner lock went with a wiped state: the kernel says it lives
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
			errs = append(errs, r.removeHalfMade(id))
		case errors.Is(err, errRecordDamaged):
			errs = append(errs, r.quarantine(id, err))
		case err == nil && (rec.State == StateRunning || rec.State == StateCreated || rec.State == StateRestarting):
			errs = append(errs, r.reapLost(rec))
			if _, err := os.Lstat(r.containerDir(id)); err == nil {
				present[id] = true // not removed with it (--rm)
			}
		case err == nil && rec.State == StateExited:
			errs = append(errs, r.unmountStopped(id))
			present[id] = true
		}
	}
	errs = append(errs, r.removeStaleNames(present), r.removeStaleLocks(present), r.removeStaleHealth(present),
		r.removeStaleWaitFiles(present))
	lcs, _ := os.ReadDir(r.libcontainerRoot())
	for _, e := range lcs {
		if !known[e.Name()] && !r.lockHeld(e.Name()) {
			errs = append(errs, r.destroyLibcontainer(e.Name()))
		}
	}
	errs = append(errs, r.reclaimNetwork(present), r.removeOrphanCgroups(known))
	return errors.Join(errs...)
}

// removeHalfMade removes a container whose create was interrupted.
func (r *Runtime) removeHalfMade(id string) error {
	lock, err := lockfile.TryExclusive(r.lockPath(id))
	if err != nil {
		return nil // busy: a live process is acting on it
	}
	defer r.unlock(lock, id)
	if r.hasRecord(id) {
		return nil // finished meanwhile
	}
	return errors.Join(r.destroyLibcontainer(id), rootfs.Remove(r.containerDir(id)), os.RemoveAll(r.containerDir(id)))
}

// unmountStopped unmounts the root file system of a stopped container
// that a start killed (or failed) after mounting it left mounted: start
// mounts it before the monitor takes over. Decided on the record read
// under the container's lock, which every start holds until its monitor
// records the container running.
func (r *Runtime) unmountStopped(id string) error {
	dir := r.containerDir(id)
	if ok, _ := rootfs.Mounted(dir); !ok {
		return nil
	}
	lock, err := lockfile.TryExclusive(r.lockPath(id))
	if err != nil {
		return nil // a live process is acting on it
	}
	defer r.unlock(lock, id)
	if rec, err := r.loadRecord(id); err != nil || rec.State != StateExited || r.owned(rec) {
		return nil
	}
	return rootfs.Unmount(dir)
}

// reapLost records as exited a container whose edgerun died while it ran,
// once its processes are gone, and releases its cgroup and mount; a
// detached one (its monitor died) is reapDetached's, decided on the record
// read under the lock.
func (r *Runtime) reapLost(rec *Record) error {
	lock, err := lockfile.TryExclusive(r.lockPath(rec.ID))
	if err != nil {
		return nil
	}
	defer r.unlock(lock, rec.ID)
	cur, err := r.loadRecord(rec.ID)
	if err != nil {
		return nil
	}
	if cur.Detached {
		return r.reapDetached(cur, lock)
	}
	before := cur.State
	r.refreshLocked(cur, true)
	if cur.State == before {
		return nil // still running for real
	}
	errs := []error{r.destroyLibcontainer(cur.ID)}
	ran := before == StateRunning // its die was not recorded
	if cur.AutoRemove {
		if ran {
			r.died(cur)
		}
		return errors.Join(append(errs, r.removeFiles(cur))...)
	}
	errs = append(errs, rootfs.Unmount(r.containerDir(cur.ID)), r.saveRecord(cur))
	if ran {
		r.died(cur)
	}
	return errors.Join(errs...)
}
