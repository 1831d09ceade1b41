package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/edgerun/edgerun/rootless"
)

// checkClock flags a clock set before the binary's commit: boards without
// a real-time clock (every Raspberry Pi) boot in 1970 or at the last
// shutdown until NTP answers, and TLS and image timestamps then fail.
func checkClock(o Options) Check {
	c := Check{Name: "clock", Status: OK}
	if o.Built.IsZero() {
		c.Detail = fmt.Sprintf("%s (not compared: this build does not record its commit time)", o.Now.UTC().Format(time.RFC3339))
		return c
	}
	if o.Now.Before(o.Built) {
		c.Status = Warn
		c.Detail = fmt.Sprintf("the clock says %s, before this edgerun was built (%s): TLS certificates and timestamps will be wrong",
			o.Now.UTC().Format(time.RFC3339), o.Built.UTC().Format(time.RFC3339))
		c.Fix = "set the time: enable NTP (timedatectl set-ntp true, or systemd-timesyncd/chrony), or date -s; boards without a real-time clock need NTP or fake-hwclock"
		return c
	}
	c.Detail = fmt.Sprintf("%s, after this build's commit (%s)", o.Now.UTC().Format(time.RFC3339), o.Built.UTC().Format(time.RFC3339))
	return c
}

// checkSubIDs looks for the invoking user's ranges in /etc/subuid and
// /etc/subgid, which rootless containers map to, with the rule the
// session applies (rootless.ParseSubIDs, at least rootless.MinSubIDs of
// each). Entries are matched by user name or UID in both files, as
// newuidmap and newgidmap match them.
func checkSubIDs(o Options) []Check {
	if o.UID == 0 && (o.User == "" || o.User == "root") {
		return []Check{{Name: "subids", Status: OK, Detail: "root needs no subordinate UID/GID ranges"}}
	}
	uids, gids := subIDCounts(o)
	var missing []string
	if uids < rootless.MinSubIDs {
		missing = append(missing, "subuid")
	}
	if gids < rootless.MinSubIDs {
		missing = append(missing, "subgid")
	}
	if len(missing) == 0 {
		return []Check{{Name: "subids", Status: OK,
			Detail: fmt.Sprintf("%s has %d subordinate UIDs and %d GIDs: rootless containers map 0 to %s and 1..N to them (with newuidmap, see uidmap)",
				o.User, uids, gids, o.User)}}
	}
	return []Check{{Name: "subids", Status: Warn,
		Detail: fmt.Sprintf("%s has fewer than %d subordinate IDs in /etc/%s: rootless edgerun uses the single-ID mapping: containers see only %s's own user and group (as root), "+
			"files of other owners in images belong to root, and -u or --group-add with anything but root is refused",
			o.User, rootless.MinSubIDs, strings.Join(missing, " and /etc/"), o.User),
		Fix: fmt.Sprintf("usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s (as root; pick ranges no other user has), then stop %s's containers so the next command makes a new session",
			o.User, o.User)}}
}

// subIDCounts sums the invoking user's ranges in /etc/subuid and
// /etc/subgid under HostRoot.
func subIDCounts(o Options) (uids, gids int) {
	id := -1
	if uid, err := strconv.Atoi(lookupUID(o.HostRoot, o.User)); err == nil {
		id = uid
	}
	count := func(file string) int {
		f, err := os.Open(filepath.Join(o.HostRoot, "etc", file))
		if err != nil {
			return 0
		}
		defer f.Close()
		n := 0
		for _, r := range rootless.ParseSubIDs(f, o.User, id) {
			n += r.Count
		}
		return n
	}
	return count("subuid"), count("subgid")
}

// lookupUID finds user in /etc/passwd under root ("" if absent).
func lookupUID(root, user string) string {
	b, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if err != nil {
		return ""
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) > 2 && f[0] == user {
			return f[2]
		}
	}
	return ""
}
