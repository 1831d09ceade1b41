package container

import (
	"context"
	"fmt"

	"github.com/edgerun/edgerun/internal/ids"
)

// Rename gives a container, running or not, a new name: the name claim
// moves, the record and the run options (request.json, so update and
// apply keep the name) change, and the /etc/hosts of the containers on
// its networks name it anew. A name in use is refused, as in docker.
//
// The new name is claimed before the record changes and the old claim
// goes last: a crash in between leaves the old claim behind, which a
// later claim of that name takes over (its container's record names
// another name, see reserveName).
func (r *Runtime) Rename(ctx context.Context, ref, name string) (*Record, error) {
	if err := ids.CheckName(name); err != nil {
		return nil, fmt.Errorf("rename to %q: %w", name, err)
	}
	rec, lock, err := r.lockedRecord(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer r.unlock(lock, rec.ID)
	if rec.Name == name {
		return nil, fmt.Errorf("container %.12s is named %s already: give another name", rec.ID, name)
	}
	durable := !rec.AutoRemove
	if err := r.reserveName(name, rec.ID, durable); err != nil {
		return nil, err
	}
	old := rec.Name
	q, qerr := r.loadRequest(rec)
	rec.Name = name
	if err := r.saveRecord(rec); err != nil {
		_ = r.releaseName(name, rec.ID, durable)
		return nil, err
	}
	r.event(rec, "rename", map[string]string{"oldName": old})
	if qerr == nil && q.Name != "" {
		q.Name = name
		_ = r.saveRequest(rec.ID, *q, durable) // without it, update names the replacement as before
	}
	if err := r.releaseName(old, rec.ID, durable); err != nil {
		return rec, fmt.Errorf("release the old name %s: %w", old, err)
	}
	_ = r.refreshPeerHosts(rec.Network.bridges(), "") // best effort, as at create
	return rec, nil
}
