package container

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/internal/lockfile"
	"github.com/edgerun/edgerun/rootfs"
	"github.com/edgerun/edgerun/specgen"
	"github.com/edgerun/edgerun/volumes"
)

// VolumeInfo is a named volume with the containers that use it (docker's
// `volume inspect` keys).
type VolumeInfo struct {
	volumes.Volume
	Driver     string       `json:"Driver"`
	Containers []VolumeUser `json:"Containers"`
}

// VolumeUser is a container that uses a volume.
type VolumeUser struct {
	ID   string `json:"ID"`
	Name string `json:"Name"`
}

// VolumePruneReport is what PruneVolumes removed.
type VolumePruneReport struct {
	Removed []string
	Freed   int64 // bytes
}

// volumeStore is the named volumes of this root.
func (r *Runtime) volumeStore() *volumes.Store { return volumes.Open(r.cfg.Root) }

// volumeUse is a new container's named volumes, resolved: their
// directories for the spec and their names for the record, with the
// volume lock held until the record names them (release).
type volumeUse struct {
	paths map[string]string
	names []string
	lock  *lockfile.Lock
}

// release lets volume changes go on. Idempotent.
func (u *volumeUse) release() {
	if u.lock != nil {
		_ = u.lock.Unlock()
	}
}

// resolveVolumes creates the named volumes of mounts that do not exist
// yet (docker's first use) and copies the image's content at the mount
// point into each volume never mounted before, unless nocopy. It takes
// the volume lock and leaves it held: the caller releases it once the
// container's record lists the volumes, so that `volume rm` and `volume
// prune` see the container. A volume made here stays when the container's
// creation fails later (as docker's does): it is a plain empty volume.
func (r *Runtime) resolveVolumes(ctx context.Context, mounts []specgen.MountSpec, rootfsDir string) (*volumeUse, error) {
	u := &volumeUse{}
	if len(mounts) == 0 {
		return u, nil
	}
	store := r.volumeStore()
	lock, err := store.Lock(ctx)
	if err != nil {
		return nil, err
	}
	u.lock, u.paths = lock, map[string]string{}
	for _, m := range mounts {
		if _, done := u.paths[m.Source]; done {
			continue // the first mount of a volume decides its copy-up
		}
		v, made, err := store.Create(m.Source)
		if err != nil {
			u.release()
			return nil, err
		}
		if made {
			r.volumeEvent(v.Name, "create")
		}
		if v.CopyUp {
			if err := r.copyUp(ctx, store, v, m, rootfsDir); err != nil {
				u.release()
				return nil, err
			}
		}
		u.paths[m.Source] = v.Mountpoint
		u.names = append(u.names, m.Source)
	}
	slices.Sort(u.names)
	return u, nil
}

// copyUp fills volume v from the image at m's destination (unless
// nocopy) and records that its first mount happened. A crash before the
// record leaves the flag set, and the next first mount copies again over
// what is there.
func (r *Runtime) copyUp(ctx context.Context, store *volumes.Store, v volumes.Volume, m specgen.MountSpec, rootfsDir string) error {
	if !m.NoCopy {
		if _, err := rootfs.CopyUp(ctx, rootfsDir, m.Destination, v.Mountpoint); err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
	}
	return store.CopiedUp(v.Name)
}

// CreateVolume makes the named volume name, or returns the existing one.
func (r *Runtime) CreateVolume(ctx context.Context, name string) (VolumeInfo, error) {
	store := r.volumeStore()
	lock, err := store.Lock(ctx)
	if err != nil {
		return VolumeInfo{}, err
	}
	defer lock.Unlock()
	v, made, err := store.Create(name)
	if err != nil {
		return VolumeInfo{}, err
	}
	if made {
		r.volumeEvent(v.Name, "create")
	}
	users, err := r.volumeUsers()
	if err != nil {
		return VolumeInfo{}, err
	}
	return info(v, users), nil
}

// Volumes lists the named volumes, by name, with their users.
func (r *Runtime) Volumes() ([]VolumeInfo, error) {
	vs, err := r.volumeStore().List()
	if err != nil {
		return nil, err
	}
	users, err := r.volumeUsers()
	if err != nil {
		return nil, err
	}
	out := make([]VolumeInfo, 0, len(vs))
	for _, v := range vs {
		out = append(out, info(v, users))
	}
	return out, nil
}

// InspectVolume returns one named volume; errors wrap
// volumes.ErrNotFound when there is none.
func (r *Runtime) InspectVolume(name string) (VolumeInfo, error) {
	v, err := r.volumeStore().Get(name)
	if err != nil {
		return VolumeInfo{}, err
	}
	users, err := r.volumeUsers()
	if err != nil {
		return VolumeInfo{}, err
	}
	return info(v, users), nil
}

// RemoveVolume removes a named volume and its data. A volume that any
// container uses, running or stopped, is refused (ErrVolumeInUse, naming
// them), with force too. force makes a missing volume no error (docker's
// `volume rm -f`).
func (r *Runtime) RemoveVolume(ctx context.Context, name string, force bool) error {
	store := r.volumeStore()
	lock, err := store.Lock(ctx)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if _, err := store.Get(name); err != nil {
		if force && errors.Is(err, volumes.ErrNotFound) {
			return nil
		}
		return err
	}
	users, err := r.volumeUsers()
	if err != nil {
		return err
	}
	if us := users[name]; len(us) > 0 {
		return fmt.Errorf("%w: %s is used by %s: remove those containers first (edgerun rm)", ErrVolumeInUse, name, describeUsers(us))
	}
	if _, err = store.Remove(name); err != nil {
		return err
	}
	r.volumeEvent(name, "destroy")
	return nil
}

// PruneVolumes removes every named volume no container uses, and says
// which and how much space that freed. `edgerun prune` and `boot` never
// call it: volumes hold data, and go only when asked by name or by this.
func (r *Runtime) PruneVolumes(ctx context.Context) (VolumePruneReport, error) {
	var rep VolumePruneReport
	store := r.volumeStore()
	lock, err := store.Lock(ctx)
	if err != nil {
		return rep, err
	}
	defer lock.Unlock()
	vs, err := store.List()
	if err != nil {
		return rep, err
	}
	users, err := r.volumeUsers()
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, v := range vs {
		if len(users[v.Name]) > 0 {
			continue
		}
		freed, err := store.Remove(v.Name)
		rep.Freed += freed
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rep.Removed = append(rep.Removed, v.Name)
		r.volumeEvent(v.Name, "destroy")
	}
	r.appendEvent(events.Volume, "prune", "", map[string]string{"reclaimed": strconv.FormatInt(rep.Freed, 10)})
	return rep, errors.Join(errs...)
}

// volumeUsers maps each volume name to the containers whose records use it.
func (r *Runtime) volumeUsers() (map[string][]VolumeUser, error) {
	recs, err := r.listRecords()
	if err != nil {
		return nil, err
	}
	users := map[string][]VolumeUser{}
	for _, rec := range recs {
		for _, name := range rec.Volumes {
			users[name] = append(users[name], VolumeUser{ID: rec.ID, Name: rec.Name})
		}
	}
	for _, us := range users {
		sort.Slice(us, func(i, j int) bool { return us[i].Name < us[j].Name })
	}
	return users, nil
}

func info(v volumes.Volume, users map[string][]VolumeUser) VolumeInfo {
	us := users[v.Name]
	if us == nil {
		us = []VolumeUser{}
	}
	return VolumeInfo{Volume: v, Driver: "local", Containers: us}
}

// describeUsers names containers for a message: "web (3f2a1b2c4d5e), db (...)".
func describeUsers(us []VolumeUser) string {
	parts := make([]string, 0, len(us))
	for _, u := range us {
		parts = append(parts, fmt.Sprintf("%s (%.12s)", u.Name, u.ID))
	}
	return strings.Join(parts, ", ")
}
