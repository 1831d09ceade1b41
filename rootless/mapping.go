package rootless

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
)

// IDMap maps Size IDs from Inside (in the namespace) to Outside (the host).
type IDMap struct {
	Inside  int `json:"inside"`
	Outside int `json:"outside"`
	Size    int `json:"size"`
}

// Mapping is what a session's user namespace maps.
type Mapping struct {
	UIDs []IDMap `json:"uids"`
	GIDs []IDMap `json:"gids"`
	// Helper: written by newuidmap/newgidmap (subordinate ranges), not
	// the single-ID mapping.
	Helper bool `json:"helper,omitempty"`
}

// Single reports whether only the user's own ID is mapped.
func (m Mapping) Single() bool { return !m.Helper }

// String is the mapping as uid_map's lines, joined: "0 1000 1,1 100000 65536".
func (m Mapping) String() string { return rangesString(m.UIDs) }

// rangesString joins ranges as a map file's lines, with commas.
func rangesString(ms []IDMap) string {
	var parts []string
	for _, x := range ms {
		parts = append(parts, fmt.Sprintf("%d %d %d", x.Inside, x.Outside, x.Size))
	}
	return strings.Join(parts, ",")
}

// MinSubIDs is the smallest subordinate range edgerun uses: images with
// system users (nobody is 65534) need the whole 16-bit space.
const MinSubIDs = 65536

// SubIDRange is one line of /etc/subuid or /etc/subgid.
type SubIDRange struct{ Start, Count int }

// ParseSubIDs returns the ranges of the user (by name or by numeric ID)
// in an /etc/subuid-format file.
func ParseSubIDs(r io.Reader, name string, id int) []SubIDRange {
	var out []SubIDRange
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || (f[0] != name && f[0] != strconv.Itoa(id)) {
			continue
		}
		start, err1 := strconv.Atoi(f[1])
		count, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil || start < 0 || count <= 0 {
			continue
		}
		out = append(out, SubIDRange{start, count})
	}
	return out
}

// SubIDs reads the user's ranges from /etc/subuid ("uid") or /etc/subgid.
func SubIDs(kind string, name string, id int) []SubIDRange {
	f, err := os.Open("/etc/sub" + kind)
	if err != nil {
		return nil
	}
	defer f.Close()
	return ParseSubIDs(f, name, id)
}

// buildMap maps 0 to the user's own ID and 1.. to its ranges, in order.
func buildMap(own int, ranges []SubIDRange) []IDMap {
	out := []IDMap{{Inside: 0, Outside: own, Size: 1}}
	next := 1
	for _, r := range ranges {
		out = append(out, IDMap{Inside: next, Outside: r.Start, Size: r.Count})
		next += r.Count
	}
	return out
}

func total(ranges []SubIDRange) int {
	n := 0
	for _, r := range ranges {
		n += r.Count
	}
	return n
}

// singleMapping maps only the calling user and its group, to 0.
func singleMapping() Mapping {
	return Mapping{UIDs: []IDMap{{0, os.Getuid(), 1}}, GIDs: []IDMap{{0, os.Getgid(), 1}}}
}

// ChooseMapping picks the calling user's mapping: the subordinate ranges
// through newuidmap/newgidmap when both files give the user at least
// MinSubIDs and both helpers are installed, else the single-ID mapping,
// with the reason in why.
func ChooseMapping() (m Mapping, why string) {
	uid, gid := os.Getuid(), os.Getgid()
	name := strconv.Itoa(uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	single := singleMapping()
	// newgidmap, like newuidmap, finds the user's lines by name or by UID.
	uids, gids := SubIDs("uid", name, uid), SubIDs("gid", name, uid)
	if total(uids) < MinSubIDs || total(gids) < MinSubIDs {
		return single, fmt.Sprintf("%s has no subordinate ID range of %d IDs in /etc/subuid and /etc/subgid: containers see only one user and group (root); "+
			"files of other owners in images belong to root, and -u with another user cannot work. For the full mapping: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s",
			name, MinSubIDs, name)
	}
	for _, h := range []string{"newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(h); err != nil {
			return single, fmt.Sprintf("%s is not installed: containers see only one user and group (root). For the full mapping of your subordinate IDs: apt install uidmap", h)
		}
	}
	return Mapping{UIDs: buildMap(uid, uids), GIDs: buildMap(gid, gids), Helper: true}, ""
}
