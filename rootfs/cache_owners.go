package rootfs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/internal/atomicfile"
	"github.com/edgerun/edgerun/internal/lockfile"
)

// idmapName is the cache's record of how the owners of its layers were
// written: the ownership policy and the ID mapping of the process that
// unpacked them (see # Cache in the package documentation).
const idmapName = "idmap"

// owners is what the idmap marker records: the ownership policy and the
// ID mapping.
type owners struct {
	policy string
	ids    IDMap
}

// currentOwners is this process's record.
func currentOwners(rootless bool) (owners, error) {
	m, err := ReadIDMap()
	if err != nil {
		return owners{}, err
	}
	return owners{policy: ownerPolicy(rootless), ids: m}, nil
}

// String is the marker's text.
func (o owners) String() string {
	return fmt.Sprintf("policy %s\nuid_map %s\ngid_map %s\n", o.policy, o.ids.UIDs, o.ids.GIDs)
}

// describe is the record on one line, for errors.
func (o owners) describe() string {
	return fmt.Sprintf("(policy %s; uid_map %s; gid_map %s)", o.policy, o.ids.UIDs, o.ids.GIDs)
}

// parseOwners reads a marker's text.
func parseOwners(text string) (owners, error) {
	var o owners
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		key, val, _ := strings.Cut(line, " ")
		var err error
		switch key {
		case "policy":
			o.policy = val
		case "uid_map":
			o.ids.UIDs, err = ParseIDRanges(strings.ReplaceAll(val, ",", "\n"))
		case "gid_map":
			o.ids.GIDs, err = ParseIDRanges(strings.ReplaceAll(val, ",", "\n"))
		}
		if err != nil {
			return o, fmt.Errorf("%s: %w", idmapName, err)
		}
	}
	return o, nil
}

// outsideCovered reports whether every outside ID of old is an outside ID
// of now: every file written under old has an owner now maps, so now may
// remove it.
func outsideCovered(old, now IDRanges) bool {
	for _, x := range old {
		for id := x.Outside; id < x.Outside+x.Size; {
			next := id
			for _, y := range now {
				if id >= y.Outside && id < y.Outside+y.Size {
					next = y.Outside + y.Size
					break
				}
			}
			if next == id {
				return false
			}
			id = next
		}
	}
	return true
}

// removable reports whether a process of now can remove what old wrote.
func (o owners) removable(now owners) bool {
	return o.policy == now.policy && outsideCovered(o.ids.UIDs, now.ids.UIDs) && outsideCovered(o.ids.GIDs, now.ids.GIDs)
}

// readOwners reads the marker: ok is false when there is none.
func (c *Cache) readOwners() (o owners, text string, ok bool, err error) {
	b, err := os.ReadFile(c.path(idmapName))
	if errors.Is(err, fs.ErrNotExist) {
		return o, "", false, nil
	}
	if err != nil {
		return o, "", false, fmt.Errorf("read the layer cache's ID mapping: %w", err)
	}
	o, err = parseOwners(string(b))
	return o, string(b), true, err
}

// checkOwners makes sure the published layers were unpacked under this
// process's ownership policy and ID mapping: a file of uid 33 unpacked
// under another mapping has another owner here, or none. The first use of
// a cache (or of one with no layers left) records them; a cache from
// before the record is taken to match. A mismatch is ErrIDMapChanged.
func (c *Cache) checkOwners(ctx context.Context, rootless bool) error {
	now, err := currentOwners(rootless)
	if err != nil {
		return err
	}
	if _, text, _, err := c.readOwners(); err == nil && text == now.String() {
		return nil
	}
	lk, err := lockfile.Exclusive(ctx, c.path("cache.lock"))
	if err != nil {
		return err
	}
	defer lk.Unlock()
	old, text, ok, err := c.readOwners()
	switch {
	case ok && text == now.String():
		return nil
	case ok && c.hasLayers():
		return c.ownersChanged(old, now, err)
	case err != nil && !ok:
		return err
	}
	return atomicfile.WriteFile(c.path(idmapName), []byte(now.String()), 0o600)
}

// ownersChanged is ErrIDMapChanged with what changed and the way out,
// which depends on whether this process may remove the old layers.
func (c *Cache) ownersChanged(old, now owners, parseErr error) error {
	was := old.describe()
	if parseErr != nil {
		was = "an ID mapping it cannot read (" + parseErr.Error() + ")"
	}
	err := fmt.Errorf("%w: the layers in %s were unpacked under %s; this process runs under %s, where their "+
		"files would have other owners", ErrIDMapChanged, c.dir, was, now.describe())
	if parseErr == nil && old.removable(now) {
		return fmt.Errorf("%w: remove this root's containers and images (edgerun rm -f, rmi, image prune) so "+
			"their layers are unpacked again, or use another --root", err)
	}
	return fmt.Errorf("%w: use another --root; this mapping cannot remove files of the IDs it lacks, so remove "+
		"the old root under its own mapping, or as root", err)
}

// checkRemovable refuses to prune layers this process could unpublish but
// not remove (files of IDs its mapping lacks): their leftovers would stop
// every later command.
func (c *Cache) checkRemovable() error {
	old, text, ok, err := c.readOwners()
	if !ok && err == nil {
		return nil
	}
	now, nerr := currentOwners(c.unpack.Rootless)
	if nerr != nil {
		return nerr
	}
	if err == nil && (text == now.String() || old.removable(now)) {
		return nil
	}
	return c.ownersChanged(old, now, err)
}

// hasLayers reports whether any layer directory is published (complete
// or not). The caller holds the cache lock exclusively.
func (c *Cache) hasLayers() bool {
	ents, err := os.ReadDir(c.path(string(digest.SHA256)))
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return err != nil || len(ents) > 0 // unreadable: assume there are
}

// Stats returns what unpacking the published layer diffID counted (its
// complete marker).
func (c *Cache) Stats(diffID digest.Digest) (Stats, error) {
	var st Stats
	if err := diffID.Validate(); err != nil {
		return st, fmt.Errorf("diff ID %q: %w", diffID, err)
	}
	b, err := os.ReadFile(c.path(diffID.Algorithm().String(), diffID.Encoded(), completeName))
	if err != nil {
		return st, fmt.Errorf("layer %s: %w", diffID, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("layer %s: marker %s: %w", diffID, completeName, err)
	}
	return st, nil
}
