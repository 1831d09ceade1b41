package rootfs

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/sys/userns"
)

// IDRange is one line of /proc/self/uid_map or gid_map: Size IDs starting
// at Inside (in this process's user namespace) are Outside.. in its
// parent's.
type IDRange struct {
	Inside, Outside, Size int64
}

// IDRanges are the lines of one map file.
type IDRanges []IDRange

// maxID is the largest ID a map can cover: (uid_t)-1, 4294967295, means
// "no change" to chown(2) and is never mapped.
const maxID = 1<<32 - 2

// Mapped reports whether id is an ID of this namespace: chown(2) to it
// works (an unmapped one is EINVAL).
func (r IDRanges) Mapped(id int) bool {
	if id < 0 || int64(id) > maxID {
		return false
	}
	for _, x := range r {
		if int64(id) >= x.Inside && int64(id)-x.Inside < x.Size {
			return true
		}
	}
	return false
}

// IDMap is what a user namespace maps, as /proc/self/uid_map and gid_map
// give it.
type IDMap struct {
	UIDs, GIDs IDRanges
}

// identityMap is the initial user namespace's: every ID is itself.
var identityMap = IDMap{UIDs: IDRanges{{0, 0, maxID + 1}}, GIDs: IDRanges{{0, 0, maxID + 1}}}

// ReadIDMap reads this process's uid_map and gid_map.
func ReadIDMap() (IDMap, error) {
	var m IDMap
	for _, f := range []struct {
		name string
		to   *IDRanges
	}{{"/proc/self/uid_map", &m.UIDs}, {"/proc/self/gid_map", &m.GIDs}} {
		b, err := os.ReadFile(f.name)
		if err != nil {
			return m, fmt.Errorf("read this process's ID mapping: %w", err)
		}
		if *f.to, err = ParseIDRanges(string(b)); err != nil {
			return m, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return m, nil
}

// ParseIDRanges parses the text of a uid_map or gid_map file: one
// "INSIDE OUTSIDE SIZE" line per range.
func ParseIDRanges(text string) (IDRanges, error) {
	var out IDRanges
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("ID map line %q: want INSIDE OUTSIDE SIZE", line)
		}
		var n [3]int64
		for i, s := range f {
			v, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("ID map line %q: %w", line, err)
			}
			n[i] = int64(v)
		}
		out = append(out, IDRange{Inside: n[0], Outside: n[1], Size: n[2]})
	}
	return out, nil
}

// String is the map as the kernel's lines, "INSIDE OUTSIDE SIZE", ranges
// joined by commas: "0 1000 1,1 100000 65536".
func (r IDRanges) String() string {
	parts := make([]string, len(r))
	for i, x := range r {
		parts[i] = fmt.Sprintf("%d %d %d", x.Inside, x.Outside, x.Size)
	}
	return strings.Join(parts, ",")
}

// Describe names the IDs of this namespace, for people: "uid 0",
// "uids 0-65536", "uids 0-9 and 20-29", "no uid".
func (r IDRanges) Describe(kind string) string {
	if len(r) == 0 {
		return "no " + kind
	}
	var spans [][2]int64 // merged [first, last] inside IDs
	sorted := slices.Clone(r)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Inside < sorted[j].Inside })
	for _, x := range sorted {
		if n := len(spans); n > 0 && x.Inside <= spans[n-1][1]+1 {
			spans[n-1][1] = max(spans[n-1][1], x.Inside+x.Size-1)
			continue
		}
		spans = append(spans, [2]int64{x.Inside, x.Inside + x.Size - 1})
	}
	if len(spans) == 1 && spans[0][0] == spans[0][1] {
		return fmt.Sprintf("%s %d", kind, spans[0][0])
	}
	parts := make([]string, len(spans))
	for i, s := range spans {
		parts[i] = strconv.FormatInt(s[0], 10)
		if s[1] != s[0] {
			parts[i] += "-" + strconv.FormatInt(s[1], 10)
		}
	}
	return kind + "s " + strings.Join(parts, ", ")
}

// Describe names what m maps, for people: "uid 0 and gid 0",
// "uids 0-65536 and gids 0-65536".
func (m IDMap) Describe() string {
	return m.UIDs.Describe("uid") + " and " + m.GIDs.Describe("gid")
}

// The ownership policies (see # Privileges in the package documentation).
const (
	policyPrivileged   = "privileged"   // root of the initial user namespace: every owner kept
	policyUserNS       = "userns"       // root of a user namespace: mapped owners kept, the others root's
	policyUnprivileged = "unprivileged" // owners are not changed
)

// ownerPolicy is this process's ownership policy; rootless forces
// policyUnprivileged.
func ownerPolicy(rootless bool) string {
	switch {
	case rootless || os.Geteuid() != 0:
		return policyUnprivileged
	case userns.RunningInUserNS():
		return policyUserNS
	}
	return policyPrivileged
}

// ownerIDs is the IDs this process gives entries under its policy: nil
// when it does not change owners, every ID as root of the initial user
// namespace, else the mapping of the user namespace it is root of.
func ownerIDs(rootless bool) (*IDMap, error) {
	switch ownerPolicy(rootless) {
	case policyUnprivileged:
		return nil, nil
	case policyPrivileged:
		m := identityMap
		return &m, nil
	}
	m, err := ReadIDMap()
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// owner is what an entry is given: its own IDs when mapped, else root's,
// and its permission bits (setuid dropped with a flattened uid, setgid
// with a flattened gid, for all but directories).
type owner struct {
	uid, gid int
	perm     uint32
	flat     bool // uid or gid was not mapped and became 0
	setID    bool // a setuid or setgid bit was dropped for it
}

// ownerOf applies the ownership policy ids (nil: owners are not changed)
// to an entry of uid:gid with permission bits perm.
func ownerOf(ids *IDMap, uid, gid int, perm uint32, dir bool) owner {
	o := owner{uid: uid, gid: gid, perm: perm}
	if ids == nil {
		return o
	}
	drop := uint32(0)
	if !ids.UIDs.Mapped(uid) {
		o.uid, o.flat, drop = 0, true, drop|0o4000
	}
	if !ids.GIDs.Mapped(gid) {
		o.gid, o.flat, drop = 0, true, drop|0o2000
	}
	if !dir && perm&drop != 0 {
		o.perm &^= drop
		o.setID = true
	}
	return o
}
