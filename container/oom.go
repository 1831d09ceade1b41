package container

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/rootless"
)

// OOM kills are noticed when they happen, not only when the container
// ends: the kernel's OOM killer may kill a child of a long-running
// container, which lives on. Whoever waits for the container watches its
// memory cgroup (cgroups.OOMWatch, no polling): the C monitor (package
// relay), which runs OOMCommand at each kill; or, in Go, oomLoop, the
// foreground edgerun of `run` and a monitor the C one did not take over.
// Either way noticeOOM records the count and the time and journals an
// oom event; endOOM settles the count when the container ends, and says
// whether the kill was of the container's own init ((OOM killed) in ps).

// OOMCommand is the hidden first argument a C monitor runs the binary
// with after the kernel's OOM killer killed a process of the container
// (relay/oomwatch.c):
//
//	edgerun-oom __oom ROOT STATE ID
const OOMCommand = "__oom"

// OOMMain is that process; it returns 0, or 1 when it failed.
func OOMMain(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "edgerun: OOM kills are recorded by a container's monitor, not by hand")
		return 2
	}
	r := &Runtime{cfg: Config{Root: args[0], State: args[1], BootIDFile: os.Getenv(BootIDFileEnv), Rootless: rootless.Inside(),
		Events: events.Open(args[0], events.Options{})}}
	if err := r.noticeOOM(context.Background(), args[2]); err != nil {
		fmt.Fprintf(os.Stderr, "edgerun: OOM kills of %s: %v\n", args[2], err)
		return 1
	}
	return 0
}

// watchOOM starts watching the running container's memory cgroup; nil
// when it has none (no memory controller, or no cgroup of its own).
func (r *Runtime) watchOOM(id string) *cgroups.OOMWatch {
	lc := r.loadLibcontainer(id)
	if lc == nil {
		return nil
	}
	st, err := lc.State()
	if err != nil {
		return nil
	}
	w, err := cgroups.WatchOOM(st.CgroupPaths)
	if err != nil {
		return nil
	}
	return w
}

// oomLoop records the container's OOM kills from this Go process until
// the returned function is called. w may be nil: then it watches itself.
func (r *Runtime) oomLoop(id string, w *cgroups.OOMWatch) (stop func()) {
	if w == nil {
		if w = r.watchOOM(id); w == nil {
			return func() {}
		}
		_ = r.noticeOOM(context.Background(), id) // a kill before the watch began
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for w.Wait() == nil {
			_ = r.noticeOOM(context.Background(), id)
		}
	}()
	return func() { _ = w.Close(); <-done }
}

// noticeOOM records the OOM kills of a running container's cgroup that
// its record does not count yet: how many, when the last was noticed,
// and whether they were of other processes than its init (a kill counted
// while the init runs is not the init's). Each notice journals an oom
// event, as docker's.
func (r *Runtime) noticeOOM(ctx context.Context, id string) error {
	lock, err := r.lockContainer(ctx, id)
	if err != nil {
		return err
	}
	defer r.unlock(lock, id)
	rec, err := r.loadRecord(id)
	if err != nil || rec.State != StateRunning {
		return err
	}
	lc := r.loadLibcontainer(id)
	if lc == nil {
		return nil
	}
	st, err := lc.State()
	if err != nil {
		return err
	}
	n, err := cgroups.OOMKills(st.CgroupPaths)
	if err != nil || n <= rec.OOMKills {
		return err
	}
	rec.OOMKills, rec.LastOOM = n, time.Now().UTC()
	if r.initRuns(id, true) {
		rec.OOMChildKills = n
	}
	if err := r.saveRecord(rec); err != nil {
		return err
	}
	r.event(rec, "oom", nil)
	return nil
}

// endOOM settles a run's OOM kills as it ended with code (the container
// lock held, rec read under it): the count the cgroup has, and
// OOMKilled, true when the init itself was killed, that is, it died of
// SIGKILL and the cgroup counts a kill that was not counted while it ran.
// A kill nobody noticed yet gets its oom event with the die (died).
func (r *Runtime) endOOM(rec *Record, paths map[string]string, code int) {
	n, err := cgroups.OOMKills(paths)
	if err != nil {
		n = rec.OOMKills
	}
	rec.oomUnseen = n > rec.OOMKills
	if rec.oomUnseen {
		rec.OOMKills, rec.LastOOM = n, time.Now().UTC()
	}
	rec.OOMKilled = code == 128+9 && n > rec.OOMChildKills
}

// resetOOM clears the OOM counts for a new run: they are the run's, as
// docker's OOMKilled is.
func (rec *Record) resetOOM() {
	rec.OOMKilled, rec.OOMKills, rec.OOMChildKills, rec.LastOOM, rec.oomUnseen = false, 0, 0, time.Time{}, false
}
