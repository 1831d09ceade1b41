package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/fault"
	"github.com/edgerun/edgerun/internal/ids"
	"github.com/edgerun/edgerun/internal/lockfile"
	"github.com/edgerun/edgerun/netns"
)

// journal is what an update writes, durably, before each of its steps, so
// that an update killed at any point (a power cut, kill -9) is finished
// or rolled back by the next update of the same container, or by boot.
type journal struct {
	Name      string `json:"name"`     // the service's container name
	Old       string `json:"old"`      // the container being replaced (ID)
	OldImage  string `json:"oldImage"` // its image
	Image     string `json:"image"`    // the image updated to
	Temp      string `json:"temp"`     // the replacement's name until it takes over
	New       string `json:"new,omitempty"`
	StopFirst bool   `json:"stopFirst,omitempty"`
	Step      string `json:"step"`
	// Net is the service's network options: its published ports go to
	// the replacement's request once it takes over.
	Net NetOptions `json:"net"`
}

// The steps of an update. Before stepSwitch a killed update is rolled
// back; from it on it is finished.
const (
	stepCreate   = "create"   // the replacement may exist, under Temp
	stepWait     = "wait"     // the replacement runs: New
	stepSwitch   = "switch"   // the replacement was good: ports, old container, name
	stepRollback = "rollback" // the replacement failed: it goes, the old one serves
)

func (r *Runtime) updatesDir() string { return filepath.Join(r.cfg.Root, "updates") }

func (r *Runtime) journalPath(name string) string {
	return filepath.Join(r.updatesDir(), name+".json")
}

// lockUpdate serialises the updates of one service.
func (r *Runtime) lockUpdate(ctx context.Context, name string) (*lockfile.Lock, error) {
	return lockfile.Exclusive(ctx, r.updateLockPath(name))
}

func (r *Runtime) updateLockPath(name string) string {
	return filepath.Join(r.cfg.State, "locks", "update-"+name+".lock")
}

func (r *Runtime) writeJournal(j *journal) error {
	if err := os.MkdirAll(r.updatesDir(), 0o700); err != nil {
		return err
	}
	return writeJSON(r.journalPath(j.Name), j, true)
}

func (r *Runtime) removeJournal(name string) error {
	err := os.Remove(r.journalPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return atomicfile.SyncDir(r.updatesDir())
}

// RecoverUpdates finishes or rolls back every update that was killed
// midway (boot calls it before it starts containers). It returns the
// names of the services it recovered.
func (r *Runtime) RecoverUpdates(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir(r.updatesDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	var errs []error
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || ids.CheckName(name) != nil {
			continue
		}
		if err := r.recoverLocked(ctx, name); err != nil {
			errs = append(errs, err)
		} else {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, errors.Join(errs...)
}

// recoverLocked takes the update lock of name and acts on its journal.
func (r *Runtime) recoverLocked(ctx context.Context, name string) error {
	lock, err := r.lockUpdate(ctx, name)
	if err != nil {
		return err
	}
	defer func() { _ = lock.Remove() }()
	if err := r.recoverUpdate(ctx, name); err != nil {
		return fmt.Errorf("recover the update of %s: %w", name, err)
	}
	return nil
}

// recoverUpdate acts on the journal of name, if any (the update lock is
// held): before the switch it rolls the update back, from it on it
// finishes it.
func (r *Runtime) recoverUpdate(ctx context.Context, name string) error {
	b, err := os.ReadFile(r.journalPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var j journal
	if err := json.Unmarshal(b, &j); err != nil || j.Name != name {
		// A torn journal is one of a step never taken: the durable write
		// is atomic, so this is damage; keep it for the user to see.
		return fmt.Errorf("the update journal %s is damaged: remove it once the containers %s and %s.next are as they should be", r.journalPath(name), name, name)
	}
	if r.cfg.Notice != nil {
		r.cfg.Notice(fmt.Sprintf("an update of %s to %s was interrupted (step %s): finishing it", name, j.Image, j.Step))
	}
	if j.Step == stepSwitch {
		if _, err := r.replacementOf(&j); err == nil {
			return r.finishUpdate(ctx, &j)
		}
	}
	return r.rollbackUpdate(ctx, &j, "the update was interrupted")
}

// replacementOf finds the replacement of an update: by ID, or by its
// temporary name when it was created but not yet written down.
func (r *Runtime) replacementOf(j *journal) (*Record, error) {
	if j.New != "" {
		if rec, err := r.loadRecord(j.New); err == nil {
			return rec, nil
		}
	}
	rec, err := r.lookup(j.Temp)
	if err != nil || (j.New != "" && rec.ID != j.New) {
		return nil, fmt.Errorf("%w: the replacement of %s", ErrNoSuchContainer, j.Name)
	}
	return rec, nil
}

// rollbackUpdate removes the replacement, starts the old container again
// when the update stopped it, records why and ends the journal.
func (r *Runtime) rollbackUpdate(ctx context.Context, j *journal, why string) error {
	if rec, err := r.replacementOf(j); err == nil {
		if _, err := r.RemoveContainer(ctx, rec.ID, true); err != nil {
			return fmt.Errorf("remove the replacement %s: %w", rec.Name, err)
		}
	}
	fault.Point("update/after-rollback-remove")
	old, err := r.loadRecord(j.Old)
	if err != nil {
		// Nothing to go back to (removed by hand meanwhile).
		return r.removeJournal(j.Name)
	}
	if j.StopFirst && old.State != StateRunning {
		if _, err := r.Start(ctx, old.ID); err != nil {
			return fmt.Errorf("start %s again: %w", old.Name, err)
		}
	}
	st := &UpdateStatus{Image: j.Image, From: j.OldImage, Outcome: UpdateRolledBack, Reason: why, At: time.Now().UTC()}
	if err := r.modifyRecord(ctx, old.ID, func(rec *Record) { rec.Update = st }); err != nil {
		return err
	}
	return r.removeJournal(j.Name)
}

// finishUpdate hands over to a replacement that proved good: the
// published ports move to it, the old container stops and is removed, and
// the replacement takes the name. Each part checks what is already done,
// so a killed finish is finished by running it again.
func (r *Runtime) finishUpdate(ctx context.Context, j *journal) error {
	nrec, err := r.replacementOf(j)
	if err != nil {
		return err
	}
	if old, err := r.loadRecord(j.Old); err == nil {
		if err := r.movePorts(ctx, old, nrec); err != nil {
			return err
		}
		fault.Point("update/after-switch")
		if _, err := r.Stop(ctx, old.ID, -1); err != nil {
			return fmt.Errorf("stop the old %s: %w", j.Name, err)
		}
		if _, err := r.RemoveContainer(ctx, old.ID, true); err != nil {
			return fmt.Errorf("remove the old %s: %w", j.Name, err)
		}
	}
	fault.Point("update/after-remove-old")
	if err := r.takeName(ctx, nrec.ID, j); err != nil {
		return err
	}
	fault.Point("update/after-rename")
	return r.removeJournal(j.Name)
}

// movePorts moves the published ports of old to the replacement nrec, in
// the kernel (when it runs) and in both records.
func (r *Runtime) movePorts(ctx context.Context, old, nrec *Record) error {
	ob, nb := old.Network.Bridge, nrec.Network.Bridge
	if ob == nil || nb == nil || len(ob.Ports) == 0 {
		return nil
	}
	ports := append([]netns.PortMapping(nil), ob.Ports...)
	n, err := netns.Open(r.netConfig(ob.Bridge, ob.Subnet.String()))
	if err != nil {
		return err
	}
	if err := n.MovePorts(ctx, old.ID, nrec.ID, nb.IP, nb.IP6, ports); err != nil {
		return err
	}
	if err := r.modifyRecord(ctx, nrec.ID, func(rec *Record) { rec.Network.Bridge.Ports = ports }); err != nil {
		return err
	}
	return r.modifyRecord(ctx, old.ID, func(rec *Record) { rec.Network.Bridge.Ports = nil })
}

// takeName gives the replacement the service's name and the request of
// the service (its ports and name, the new image), and records the update.
func (r *Runtime) takeName(ctx context.Context, id string, j *journal) error {
	rec, lock, err := r.lockedRecord(ctx, id)
	if err != nil {
		return err
	}
	defer r.unlock(lock, id)
	q, err := r.loadRequest(rec)
	if err != nil {
		return err
	}
	if rec.Name != j.Name {
		if err := r.reserveName(j.Name, id, true); err != nil {
			return err
		}
		old := rec.Name
		rec.Name = j.Name
		rec.Update = &UpdateStatus{Image: j.Image, From: j.OldImage, Outcome: UpdateDone, At: time.Now().UTC()}
		if err := r.saveRecord(rec); err != nil {
			return err
		}
		r.event(rec, "rename", map[string]string{"oldName": old})
		r.event(rec, "update", nil) // the service runs its new image now
	}
	// Also after a crash between the two: the claim of the temporary name
	// goes once the record has the service's.
	if err := r.releaseName(j.Temp, id, true); err != nil {
		return err
	}
	q.Name, q.Net, q.Image = j.Name, j.Net, j.Image
	if err := r.saveRequest(id, *q, true); err != nil {
		return err
	}
	_ = r.refreshPeerHosts(rec.Network.bridges(), "") // best effort: peers find the service by name at its new address
	return nil
}

// modifyRecord changes a container's record under its lock.
func (r *Runtime) modifyRecord(ctx context.Context, id string, f func(*Record)) error {
	lock, err := r.lockContainer(ctx, id)
	if err != nil {
		return err
	}
	defer r.unlock(lock, id)
	rec, err := r.loadRecord(id)
	if err != nil {
		return err
	}
	f(rec)
	return r.saveRecord(rec)
}
