package container

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/internal/ids"
	"github.com/edgerun/edgerun/rootfs"
	"github.com/edgerun/edgerun/specgen"
)

// Whether a container lives is the kernel's answer (design card): the
// processes in its cgroup, and its monitor's PID checked against the
// monitor's command line (which names the container's ID, so a reused PID
// never passes). Lock files in --state and the boot ID help, but a state
// directory that was wiped or swapped must never make a live container
// look dead.

// monitorAlive says whether the container's recorded monitor still runs.
func monitorAlive(rec *Record) bool {
	return rec.MonitorPid > 0 && isMonitorOf(rec.MonitorPid, rec.ID)
}

// initRuns says whether the container's init still runs: not gone, not a
// zombie its monitor has yet to reap, and, unless dying counts as
// running, not exiting. An init of a PID namespace that exits first
// kills every other process in it and waits for them, so a process of
// the container can end by SIGKILL while its init still looks alive to
// libcontainer; the kernel's PF_EXITING flag says so from the start.
func (r *Runtime) initRuns(id string, dyingEnds bool) bool {
	lc := r.loadLibcontainer(id)
	if lc == nil {
		return false
	}
	st, err := lc.Status()
	if err != nil || (st != libcontainer.Running && st != libcontainer.Paused) {
		return false
	}
	if !dyingEnds {
		return true
	}
	s, err := lc.State()
	return err == nil && !exiting(s.InitProcessPid)
}

// pfExiting is the kernel's PF_EXITING task flag (include/linux/sched.h).
const pfExiting = 0x4

// exiting says whether process pid has begun to exit, or is bound to: a
// SIGKILL is pending (the OOM killer's, say, not yet acted on), from
// /proc/PID/stat's flags (the ninth field) and pending signals (the
// 31st). The command name before them is in parentheses and may hold
// spaces.
func exiting(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // gone
	}
	return statExiting(b)
}

// statExiting is exiting's reading of a /proc/PID/stat line.
func statExiting(b []byte) bool {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 7 {
		return false
	}
	// f[0] is field 3 (state): flags is f[6], signal f[28].
	if flags, err := strconv.ParseUint(f[6], 10, 64); err == nil && flags&pfExiting != 0 {
		return true
	}
	if len(f) > 28 {
		sig, err := strconv.ParseUint(f[28], 10, 64)
		return err == nil && sig&(1<<(unix.SIGKILL-1)) != 0
	}
	return false
}

// owned says whether a live process owns the container: its owner lock
// is held in this state directory, or, whatever became of the state
// directory, its recorded monitor still runs.
func (r *Runtime) owned(rec *Record) bool {
	return r.ownerAlive(rec.ID) || monitorAlive(rec)
}

// Busy says whether a live process is creating the container or owns it
// (a created container being started right now).
func (r *Runtime) Busy(rec *Record) bool { return r.lockHeld(rec.ID) || r.owned(rec) }

// cgroupPath is container id's cgroup below each hierarchy's root:
// /edgerun/<id> as root, <delegated cgroup>/edgerun/<id> rootless.
func (r *Runtime) cgroupPath(id string) string {
	_ = r.cgroupless() // finds the delegated parent
	return cgroups.PathIn(r.cgroupParent, id)
}

// cgroupsDir is the cgroup holding every container's (below each
// hierarchy's root, without the leading slash).
func (r *Runtime) cgroupsDir() string {
	return strings.TrimPrefix(path.Dir(r.cgroupPath("x")), "/")
}

// hierarchies are the host's cgroup mounts, read once per Runtime.
func (r *Runtime) hierarchies() *cgroups.Hierarchies {
	r.cgroupOnce.Do(func() {
		if r.cgroupless() != nil {
			r.cgroupMounts = &cgroups.Hierarchies{} // none of edgerun's
			return
		}
		r.cgroupMounts = cgroups.Mounted()
	})
	return r.cgroupMounts
}

// cgroupless says why containers get no cgroup of their own, or nil when
// they do: rootless edgerun may only create cgroups in a cgroup v2
// subtree delegated to the user (cgroups.Delegation), and sets
// cgroupParent to it.
func (r *Runtime) cgroupless() error {
	r.lessOnce.Do(func() { r.lessWhy = r.findCgroupless() })
	return r.lessWhy
}

func (r *Runtime) findCgroupless() error {
	if !r.cfg.Rootless {
		return nil
	}
	host, err := cgroups.Detect("/")
	if err != nil {
		return err
	}
	self, err := cgroups.SelfCgroup()
	if err != nil && host.Mode == cgroups.ModeUnified {
		return err
	}
	parent, err := cgroups.Delegation(host, self)
	if err != nil {
		return err
	}
	r.cgroupParent = parent
	return nil
}

// cgroupPopulated says whether any process runs in container id's cgroup.
func (r *Runtime) cgroupPopulated(id string) bool {
	return len(r.hierarchies().Procs(r.cgroupPath(id))) > 0
}

// orphanCgroupAge is how old an empty cgroup of no container of this root
// must be before cleanup removes it: younger, it may belong to a container
// of another root that is being started right now.
const orphanCgroupAge = time.Minute

// removeOrphanCgroups removes edgerun's cgroups that no container has (a
// process killed between creating a cgroup and recording it): empty ones
// not of this root's containers, older than orphanCgroupAge.
//
// It looks at most every orphanCgroupAge/2 (the time of the last look is
// the stamp file's): the walk reads every hierarchy's directory of every
// container (2.5 ms with 100 containers on cgroup v1's ten), and an orphan
// waits a minute anyway. edgerun check looks whenever it is asked.
func (r *Runtime) removeOrphanCgroups(known map[string]bool) error {
	stamp := filepath.Join(r.cfg.State, "cgroups-swept")
	if fi, err := os.Stat(stamp); err == nil && time.Since(fi.ModTime()) < orphanCgroupAge/2 {
		return nil
	}
	err := r.hierarchies().RemoveOrphans(r.cgroupsDir(), func(id string) bool {
		return known[id] || len(id) != 64 || !ids.IsHexPrefix(id)
	}, orphanCgroupAge)
	if f, cerr := os.Create(stamp); cerr == nil { // a volatile mark: no sync
		f.Close()
	}
	return err
}

// signalInit sends sig to the container's init: through libcontainer when
// its state is here, else to the recorded PID while that process is still
// in the container's cgroup (the state in --state was lost).
func (r *Runtime) signalInit(rec *Record, sig unix.Signal) error {
	if c := r.loadLibcontainer(rec.ID); c != nil {
		return c.Signal(sig)
	}
	if rec.Pid > 0 && cgroups.Contains(rec.Pid, r.cgroupPath(rec.ID)) {
		return unix.Kill(rec.Pid, sig)
	}
	if sig == unix.SIGKILL && r.hierarchies().Kill(r.cgroupPath(rec.ID)) {
		return nil
	}
	return fmt.Errorf("%w: container %s has no process to signal", ErrNotRunning, rec.Name)
}

// cgroupCache is the Runtime's once-read cgroup mounts.
type cgroupCache struct {
	cgroupOnce   sync.Once
	cgroupMounts *cgroups.Hierarchies
	lessOnce     sync.Once
	lessWhy      error
	cgroupParent string // the delegated cgroup of a rootless runtime; "" as root
}

// sessionIDs says whether this process's user namespace maps one user ID
// only (rootless without subordinate IDs), and returns the IDs it has, each
// range mapped onto itself (what a keep-groups container's own user
// namespace maps); nil when the maps cannot be read.
func sessionIDs() (bool, *specgen.IDMaps) {
	m, err := rootfs.ReadIDMap()
	if err != nil {
		return false, nil
	}
	var n int64
	for _, r := range m.UIDs {
		n += r.Size
	}
	identity := func(rs rootfs.IDRanges) []specs.LinuxIDMapping {
		out := make([]specs.LinuxIDMapping, 0, len(rs))
		for _, r := range rs {
			out = append(out, specs.LinuxIDMapping{ContainerID: uint32(r.Inside), HostID: uint32(r.Inside), Size: uint32(r.Size)})
		}
		return out
	}
	return n == 1, &specgen.IDMaps{UIDs: identity(m.UIDs), GIDs: identity(m.GIDs)}
}
