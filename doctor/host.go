package doctor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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
// /etc/subgid, which rootless containers map to.
func checkSubIDs(o Options) []Check {
	if o.User == "" || o.User == "root" {
		return []Check{{Name: "subids", Status: OK, Detail: "root needs no subordinate UID/GID ranges"}}
	}
	uid := lookupUID(o.HostRoot, o.User)
	var missing []string
	counts := map[string]int{}
	for _, f := range []string{"subuid", "subgid"} {
		n := subIDCount(filepath.Join(o.HostRoot, "etc", f), o.User, uid)
		counts[f] = n
		if n < 65536 {
			missing = append(missing, f)
		}
	}
	if len(missing) == 0 {
		return []Check{{Name: "subids", Status: OK,
			Detail: fmt.Sprintf("%s has %d subordinate UIDs and %d GIDs", o.User, counts["subuid"], counts["subgid"])}}
	}
	return []Check{{Name: "subids", Status: Warn,
		Detail: fmt.Sprintf("%s has fewer than 65536 subordinate IDs in /etc/%s: rootless images with several users cannot be mapped",
			o.User, strings.Join(missing, " and /etc/")),
		Fix: fmt.Sprintf("usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s", o.User)}}
}

// subIDCount sums the ranges of file (name:start:count lines) for a user
// given by name or numeric UID.
func subIDCount(file, user, uid string) int {
	f, err := os.Open(file)
	if err != nil {
		return 0
	}
	defer f.Close()
	total := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(parts) != 3 || (parts[0] != user && (uid == "" || parts[0] != uid)) {
			continue
		}
		if n, err := strconv.Atoi(parts[2]); err == nil && n > 0 {
			total += n
		}
	}
	return total
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
