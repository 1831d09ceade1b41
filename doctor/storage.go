package doctor

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/docker/go-units"
)

// limits are space thresholds: below warn a pull or a few containers may
// not fit, below fail nothing will. The root holds images and containers;
// the state only locks and small runtime files.
type limits struct{ warnBytes, failBytes, warnInodes, failInodes uint64 }

var (
	rootLimits  = limits{1 << 30, 64 << 20, 50000, 2000}
	stateLimits = limits{16 << 20, 1 << 20, 1000, 100}
)

// checkStorage checks the file systems under the roots: free space and
// inodes, and whether overlayfs can be mounted there (as root, and in a
// user namespace).
func checkStorage(o Options) []Check {
	var checks []Check
	dir := existingParent(o.Root)
	if o.Statfs != nil {
		checks = append(checks, checkSpace(o, "space-root", o.Root, rootLimits), checkSpace(o, "space-state", o.State, stateLimits))
	}
	if o.ProbeOverlay == nil {
		return checks
	}
	fstype := ""
	if o.Statfs != nil {
		_, _, fstype, _ = o.Statfs(dir)
	}
	on := dir
	if fstype != "" {
		on = fmt.Sprintf("%s (%s)", dir, fstype)
	}
	// An ordinary user mounts only inside its session's user namespace.
	if o.UID == 0 {
		c := Check{Name: "overlay", Status: OK, Detail: "overlayfs mounts on " + on + ": container root file systems share the image layers"}
		if err := o.ProbeOverlay(dir, false); err != nil {
			c.Status = Warn
			c.Detail = fmt.Sprintf("overlayfs does not mount on %s (%v): every container gets a full copy of its image (slower, more disk)", on, err)
			c.Fix = "load the overlay module (modprobe overlay), or put --root on ext4, xfs or btrfs (not on overlayfs, NFS or FAT)"
		}
		checks = append(checks, c)
	}
	u := Check{Name: "overlay-userns", Status: OK, Detail: "overlayfs mounts inside a user namespace on " + on + " (rootless-ready)"}
	if o.UID != 0 {
		u.Detail = "overlayfs mounts inside a user namespace on " + on + ": rootless container root file systems share the image layers"
	}
	if err := o.ProbeOverlay(dir, true); err != nil {
		u.Status = Warn
		u.Detail = fmt.Sprintf("overlayfs does not mount inside a user namespace on %s (%v): rootless containers get a full copy of their image", on, err)
		if o.UID == 0 {
			u.Detail += " (root containers are not affected)"
		}
		u.Fix = "a kernel 5.11 or newer mounts overlayfs in user namespaces (Debian 12's 6.1 does); allow user namespaces (see userns); " +
			"put --root on ext4, xfs or btrfs (not on overlayfs, NFS or FAT)"
	}
	return append(checks, u)
}

func checkSpace(o Options, name, path string, l limits) Check {
	p := existingParent(path)
	bytes, inodes, _, err := o.Statfs(p)
	c := Check{Name: name, Status: OK}
	if err != nil {
		c.Status, c.Detail = Warn, fmt.Sprintf("cannot read free space of %s: %v", p, err)
		return c
	}
	free := fmt.Sprintf("%s free, %d inodes free under %s", units.BytesSize(float64(bytes)), inodes, p)
	switch {
	case bytes < l.failBytes || (inodes > 0 && inodes < l.failInodes):
		c.Status, c.Detail = Fail, free+": too little for edgerun to work"
		c.Fix = "free space on that file system, or point --root/--state (EDGERUN_ROOT/EDGERUN_STATE) elsewhere; `edgerun image prune` removes unused images"
	case bytes < l.warnBytes || (inodes > 0 && inodes < l.warnInodes):
		c.Status, c.Detail = Warn, free+": little room for images and containers"
		c.Fix = "free space, or `edgerun image prune` to remove unused images"
	default:
		c.Detail = free
	}
	return c
}

// existingParent returns path or its closest existing ancestor: the roots
// may not exist before the first command.
func existingParent(path string) string {
	p := filepath.Clean(path)
	for {
		if _, err := os.Stat(p); err == nil || p == "/" || p == "." {
			return p
		}
		p = filepath.Dir(p)
	}
}
