package container

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/images"
	"github.com/edgerun/edgerun/internal/ids"
	"github.com/edgerun/edgerun/internal/lockfile"
	"github.com/edgerun/edgerun/rootfs"
)

// The kinds of this package's findings.
const (
	findHalfMade      = "container-half-made"
	findRecordDamaged = "container-record-damaged"
	findLayersMissing = "container-layers-missing"
	findMountLeftover = "container-mount-leftover"
	findRuntimeOrphan = "runtime-state-orphan"
	findNameStale     = "name-stale"
	findNameMissing   = "name-missing"
	findCgroupOrphan  = "cgroup-orphan"
	findNetworkGone   = "container-network-missing"
)

// errBusy: a repair found a live process acting on the container.
var errBusy = errors.New("a live edgerun process is acting on it: run check again")

// checkContainers checks every container directory against its record:
// a directory without a record (a create or remove that was interrupted:
// removed, as the cleanup of every command does), a damaged record
// (quarantined), a record whose layers are gone from the layer cache
// (unpacked again from its image, else quarantined), and the root file
// system of a stopped container still mounted. Containers a live process
// is creating, changing or removing (their lock is held) are skipped.
// Then the runtime state of containers this root does not have.
func (r *Runtime) checkContainers(ctx context.Context) []*finding {
	ents, _ := os.ReadDir(r.containersDir())
	known := map[string]bool{}
	var found []*finding
	for _, e := range ents {
		id := e.Name()
		if !e.IsDir() || strings.HasPrefix(id, ".") {
			continue
		}
		known[id] = true
		if r.lockHeld(id) {
			continue
		}
		dir := r.containerDir(id)
		rec, err := r.loadRecord(id)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			found = append(found, &finding{Finding: Finding{Kind: findHalfMade, Where: dir,
				Problem: "a container directory without a record (a create or remove that was interrupted)",
				Repair:  "remove it, as the cleanup of every other command does"},
				fix: func() error { return gone(dir, r.removeHalfMade(id)) }})
		case errors.Is(err, errRecordDamaged):
			found = append(found, r.damaged(id, err.Error()))
		case err != nil:
			found = append(found, &finding{Finding: Finding{Kind: findRecordDamaged, Where: dir,
				Problem: err.Error(), Repair: "none: make the record readable"}})
		default:
			found = append(found, r.checkRecord(ctx, rec)...)
		}
	}
	lcs, _ := os.ReadDir(r.libcontainerRoot())
	for _, e := range lcs {
		if id := e.Name(); !known[id] && !r.lockHeld(id) {
			found = append(found, &finding{Finding: Finding{Kind: findRuntimeOrphan, Where: filepath.Join(r.libcontainerRoot(), id),
				Problem: "runtime state of a container this root does not have", Repair: "kill what is left of it and remove its state and cgroup"},
				fix: func() error { return r.destroyLibcontainer(id) }})
		}
	}
	return found
}

// gone is err, or errBusy when dir is still there (a live process held
// the container's lock, so the repair left it).
func gone(dir string, err error) error {
	if err != nil {
		return err
	}
	if _, serr := os.Lstat(dir); serr == nil {
		return errBusy
	}
	return nil
}

// damaged is the finding of a container to quarantine.
func (r *Runtime) damaged(id, problem string) *finding {
	dir := r.containerDir(id)
	return &finding{Finding: Finding{Kind: findRecordDamaged, Where: dir, Problem: problem,
		Repair: "move it to " + filepath.Join(r.quarantineDir(), id) + " (nothing is deleted), unless its processes run"},
		fix: func() error { return r.quarantineChecked(id, errors.New(problem)) }}
}

// quarantineChecked quarantines container id and says when it could not
// (its processes run, or a live process holds its lock).
func (r *Runtime) quarantineChecked(id string, why error) error {
	if r.cgroupPopulated(id) {
		return fmt.Errorf("its processes run: stop them (edgerun rm -f %.12s), then run check --repair again", id)
	}
	return gone(r.containerDir(id), r.quarantine(id, why))
}

// checkRecord checks a container with a readable record: its layers are
// in the cache, and a stopped one has no root file system mounted.
func (r *Runtime) checkRecord(ctx context.Context, rec *Record) []*finding {
	var found []*finding
	dir := r.containerDir(rec.ID)
	var missing []digest.Digest
	for _, d := range rec.Layers {
		if !rootfs.CacheHas(images.LayerCache(r.cfg.Root), d) {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		problem := fmt.Sprintf("container %s needs %d layers that are not in the layer cache (first: %s)", rec.Name, len(missing), missing[0])
		found = append(found, &finding{Finding: Finding{Kind: findLayersMissing, Where: dir, Problem: problem,
			Repair: "unpack them again from its image; when no stored image has them, move the container to " +
				filepath.Join(r.quarantineDir(), rec.ID) + " (nothing is deleted)"},
			fix: func() error { return r.restoreLayers(ctx, rec, missing, problem) }})
	}
	found = append(found, r.checkAttachments(rec)...)
	if rec.State != StateExited || r.owned(rec) {
		return found
	}
	if ok, _ := rootfs.Mounted(dir); ok {
		found = append(found, &finding{Finding: Finding{Kind: findMountLeftover, Where: filepath.Join(dir, "rootfs"),
			Problem: "the root file system of stopped container " + rec.Name + " is still mounted", Repair: "unmount it (its files are kept)"},
			fix: func() error {
				lock, err := lockfile.TryExclusive(r.lockPath(rec.ID))
				if err != nil {
					return errBusy
				}
				defer r.unlock(lock, rec.ID)
				return rootfs.Unmount(dir)
			}})
	}
	return found
}

// restoreLayers unpacks a container's missing layers again from the
// stored images; when none has them, the container cannot start again
// and is quarantined.
func (r *Runtime) restoreLayers(ctx context.Context, rec *Record, missing []digest.Digest, problem string) error {
	store, err := r.Images()
	if err != nil {
		return err
	}
	left, err := store.RestoreLayers(ctx, missing)
	if err != nil || len(left) == 0 {
		return err
	}
	if r.owned(rec) {
		return fmt.Errorf("no stored image has layer %s, and the container runs: stop it and run check --repair again", left[0])
	}
	return r.quarantineChecked(rec.ID, fmt.Errorf("%s, and no stored image has them", problem))
}

// checkNames checks the name claims against the containers: a claim of a
// container that is gone or is named otherwise (released), a claim's temp
// file left by a killed create (removed), and a container whose claim is
// missing (claimed again).
func (r *Runtime) checkNames(context.Context) []*finding {
	ents, _ := os.ReadDir(r.namesDir())
	var found []*finding
	for _, e := range ents {
		name, p := e.Name(), filepath.Join(r.namesDir(), e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		owner := string(b)
		var problem string
		fix := func() error { return r.releaseName(name, owner, true) }
		switch {
		case strings.HasPrefix(name, claimTempPrefix):
			fi, err := e.Info()
			if id := claimTempOwner(name, b); err == nil && ((id != "" && !r.lockHeld(id)) || time.Since(fi.ModTime()) > time.Minute) {
				problem = "the temp file of a name claim whose create was killed"
				fix = func() error { return removeFile(p) }
			}
		case owner == "":
			problem = "an empty name claim (a power cut while it was made)"
			fix = func() error { return r.releaseName(name, "", true) }
		case r.lockHeld(owner):
		case !r.exists(owner):
			problem = fmt.Sprintf("the name %q is claimed by container %.12s, which is gone", name, owner)
		default:
			if rec, err := r.loadRecord(owner); err == nil && rec.Name != name {
				problem = fmt.Sprintf("the name %q is claimed by container %.12s, which is named %q", name, owner, rec.Name)
			}
		}
		if problem != "" {
			found = append(found, &finding{Finding: Finding{Kind: findNameStale, Where: p, Problem: problem, Repair: "release the name"}, fix: fix})
		}
	}
	return append(found, r.checkClaims()...)
}

// exists says whether container id's directory exists.
func (r *Runtime) exists(id string) bool {
	_, err := os.Lstat(r.containerDir(id))
	return err == nil
}

func removeFile(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// checkClaims finds containers whose name claim is missing or another's
// (run after the stale claims above, whose release frees the name).
func (r *Runtime) checkClaims() []*finding {
	recs, _ := r.listRecords()
	var found []*finding
	for _, rec := range recs {
		if r.lockHeld(rec.ID) || !ids.ValidName(rec.Name) {
			continue
		}
		p := filepath.Join(r.namesDir(), rec.Name)
		if b, err := os.ReadFile(p); err == nil && string(b) == rec.ID {
			continue
		}
		found = append(found, &finding{Finding: Finding{Kind: findNameMissing, Where: p,
			Problem: fmt.Sprintf("container %.12s is named %q but does not hold that name's claim", rec.ID, rec.Name),
			Repair:  "claim the name for it again"},
			fix: func() error { return r.reserveName(rec.Name, rec.ID, !rec.AutoRemove) }})
	}
	return found
}

// checkCgroups finds edgerun's cgroups of no live container of this root,
// as the cleanup of every command removes them: empty, older than a
// minute (a younger one may be another root's container being started),
// and either of no container of this root or of one that is stopped. A
// cgroup with processes is never reported; names that are not container
// IDs are not edgerun's to judge.
func (r *Runtime) checkCgroups() []*finding {
	keep := func(id string) bool {
		if len(id) != 64 || !ids.IsHexPrefix(id) || r.lockHeld(id) {
			return true
		}
		if !r.exists(id) {
			return false
		}
		rec, err := r.loadRecord(id)
		return err != nil || rec.State != StateExited || r.owned(rec)
	}
	var found []*finding
	for _, d := range r.hierarchies().Orphans(r.cgroupsDir(), keep, orphanCgroupAge) {
		found = append(found, &finding{Finding: Finding{Kind: findCgroupOrphan, Where: d,
			Problem: "an empty cgroup of no running container of this root, untouched for over " + orphanCgroupAge.String(),
			Repair:  "remove it"},
			fix: func() error { return removeFile(d) }})
	}
	return found
}

// checkAttachments finds a container's attachments to user-defined
// networks whose definition is gone (or is another network of that name
// now): its next start could not set them up. Only the user can say
// whether to disconnect it or create the network again.
func (r *Runtime) checkAttachments(rec *Record) []*finding {
	var found []*finding
	for _, a := range rec.Network.Attachments() {
		if a.Network == "" {
			continue
		}
		if d, err := r.netStore().Get(a.Network); err == nil && d.Bridge == a.Bridge {
			continue
		}
		found = append(found, &finding{Finding: Finding{Kind: findNetworkGone, Where: r.containerDir(rec.ID),
			Problem: fmt.Sprintf("container %s is on network %s (bridge %s), which has no definition", rec.Name, a.Network, a.Bridge),
			Repair:  fmt.Sprintf("none: edgerun network disconnect %s %s, or create the network again", a.Network, rec.Name)}})
	}
	return found
}
