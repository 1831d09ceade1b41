package container

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer"

	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/lockfile"
	"github.com/edgerun/edgerun/internal/statedir"
	"github.com/edgerun/edgerun/rootfs"
)

// reapDetached handles a detached container whose monitor is gone:
//   - never started (run -d interrupted before the monitor reported): it
//     is removed, as if the run never happened;
//   - recorded running or restarting in this boot: the monitor died (kill
//     -9, OOM killer). The container cannot be adopted (its output pipes
//     went with the monitor), so it is killed, recorded with monitorLost,
//     and started again under a new monitor when its restart policy says
//     so — the same decision the monitor would have taken;
//   - recorded running in an earlier boot: a reboot ended it; it is
//     recorded as exited and left to `edgerun boot`.
//
// The caller (reapLost) holds the container's lock and loaded cur under it.
func (r *Runtime) reapDetached(cur *Record, lock *lockfile.Lock) error {
	if r.owned(cur) {
		return nil
	}
	switch cur.State {
	case StateCreated:
		if cur.Prepared { // edgerun create's: it waits for start
			return errors.Join(r.destroyLibcontainer(cur.ID), rootfs.Unmount(r.containerDir(cur.ID)))
		}
		return errors.Join(r.destroyLibcontainer(cur.ID), r.removeFiles(cur))
	case StateRunning, StateRestarting:
	default:
		return nil
	}
	sameBoot := cur.BootID != "" && cur.BootID == r.bootID()
	ran := cur.State == StateRunning // a restarting one's die was recorded
	if cur.State == StateRunning {
		cur.ExitCode = -1 // unknown: nobody saw it end
	}
	if c := r.loadLibcontainer(cur.ID); c != nil {
		if st, err := c.Status(); err == nil && st != libcontainer.Stopped {
			cur.ExitCode = 128 + int(killSignal) // killed here
		}
	}
	errs := []error{r.destroyLibcontainer(cur.ID)}
	fault.Point("reap/after-kill")
	cur.Pid, cur.MonitorPid, cur.FinishedAt, cur.Paused = 0, 0, time.Now().UTC(), false
	if cur.AutoRemove {
		if ran {
			r.died(cur)
		}
		return errors.Join(append(errs, r.removeFiles(cur))...)
	}
	cur.MonitorLost, cur.HostRestarted = sameBoot, !sameBoot
	if !sameBoot {
		cur.FinishedAt = statedir.BootTime(cur.FinishedAt)
	}
	cur.State = StateExited
	again := sameBoot && cur.Policy().ShouldRestart(cur.ExitCode, cur.RestartCount, cur.StoppedByUser)
	if !again {
		errs = append(errs, rootfs.Unmount(r.containerDir(cur.ID)), r.saveRecord(cur))
		if ran {
			r.died(cur)
		}
		return errors.Join(errs...)
	}
	if ran {
		r.died(cur) // before the restart's start
	}
	cur.RestartCount++
	fault.Point("reap/before-restart")
	errs = append(errs, r.startDetached(context.Background(), cur, lock))
	return errors.Join(errs...)
}

// removeStaleNames drops name claims whose container does not exist and
// is not being created (a create killed between claiming the name and
// making the container's directory).
func (r *Runtime) removeStaleNames(present map[string]bool) error {
	ents, err := os.ReadDir(r.namesDir())
	if err != nil {
		return nil
	}
	var errs []error
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".claim-") {
			// A claim's temp file left by a killed create: it holds the
			// ID of a container whose creator holds its lock.
			p := filepath.Join(r.namesDir(), e.Name())
			b, err := os.ReadFile(p)
			fi, serr := e.Info()
			id := claimTempOwner(e.Name(), b)
			if err == nil && serr == nil && ((id != "" && !r.lockHeld(id)) || time.Since(fi.ModTime()) > time.Minute) {
				os.Remove(p)
			}
			continue
		}
		id, err := os.ReadFile(filepath.Join(r.namesDir(), e.Name()))
		if err != nil || len(id) == 0 || present[string(id)] {
			continue
		}
		if _, err := os.Stat(r.containerDir(string(id))); err == nil || r.lockHeld(string(id)) {
			continue
		}
		errs = append(errs, r.releaseName(e.Name(), string(id), false))
	}
	return errors.Join(errs...)
}

// removeStaleLocks deletes the lock files of containers that do not exist
// (a create killed before it made the container's directory): taking the
// lock proves no live process is making it, and lockfile's re-check makes
// deleting a lock file safe for anyone about to wait on it.
func (r *Runtime) removeStaleLocks(present map[string]bool) error {
	ents, err := os.ReadDir(filepath.Join(r.cfg.State, "locks"))
	if err != nil {
		return nil
	}
	var errs []error
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".lock")
		if !ok || len(id) != 64 || present[id] {
			continue
		}
		if _, err := os.Lstat(r.containerDir(id)); err == nil {
			continue
		}
		lock, err := lockfile.TryExclusive(r.lockPath(id))
		if err != nil {
			continue // held: being created right now
		}
		// unlock deletes the lock only if the directory is still missing.
		errs = append(errs, r.unlock(lock, id))
	}
	return errors.Join(errs...)
}

// removeStaleHealth deletes the health states of containers that do not
// exist (one removed by a process killed before it got to them).
func (r *Runtime) removeStaleHealth(present map[string]bool) error {
	ents, err := os.ReadDir(filepath.Join(r.cfg.State, "health"))
	if err != nil {
		return nil
	}
	var errs []error
	for _, e := range ents {
		// ID.json, or .ID.json.tmp-N of a probe killed while writing it.
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if tmp, _, found := strings.Cut(strings.TrimPrefix(e.Name(), "."), ".json.tmp-"); found && e.Name()[0] == '.' {
			id, ok = tmp, true
		}
		if !ok || len(id) != 64 || present[id] {
			continue
		}
		if _, err := os.Lstat(r.containerDir(id)); errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, r.removeHealth(id))
		}
	}
	return errors.Join(errs...)
}
