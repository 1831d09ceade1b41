package container

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/netns"
)

// ContainerStats is one measurement of a running container: CPU (percent
// of one CPU over the interval), memory, pids, block I/O and pressure from
// its cgroup (v1 or v2, read by libcontainer's cgroup library), network
// counters from its network namespace.
type ContainerStats struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	CPUPercent float64 `json:"cpuPercent"`
	cgroups.Usage
	NetRx uint64 `json:"netRxBytes"`
	NetTx uint64 `json:"netTxBytes"`
}

// StatsOptions are the inputs of `edgerun stats`.
type StatsOptions struct {
	Refs     []string      // containers; none means every running one
	Interval time.Duration // between the two samples a CPU percentage needs
	Stream   bool          // go on until ctx ends (else one round)
	// Emit receives each round, in the order of Refs (or newest first).
	Emit func([]ContainerStats) error
	// Notice receives, once, the note that the kernel keeps no memory
	// figures (cgroups.MemoryOffNote) when the host has no memory
	// controller and a container was measured.
	Notice func(string)
}

type statSample struct {
	at    time.Time
	stats ContainerStats
}

// Stats measures containers; see StatsOptions.
func (r *Runtime) Stats(ctx context.Context, opts StatsOptions) error {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	recs, err := r.statsTargets(opts.Refs)
	if err != nil {
		return err
	}
	memory := r.memoryAccounted()
	prev := map[string]statSample{}
	for _, rec := range recs {
		if s, ok := r.sample(rec, memory); ok {
			prev[rec.ID] = s
		}
	}
	noted := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(opts.Interval):
		}
		var round []ContainerStats
		for _, rec := range recs {
			cur, ok := r.sample(rec, memory)
			if !ok {
				continue // stopped meanwhile
			}
			if !memory && !noted && opts.Notice != nil {
				noted = true
				cmdline, _ := os.ReadFile("/proc/cmdline")
				opts.Notice(cgroups.MemoryOffNote(string(cmdline)))
			}
			if p, ok := prev[rec.ID]; ok && cur.stats.CPUTimeNs >= p.stats.CPUTimeNs {
				wall := cur.at.Sub(p.at)
				cur.stats.CPUPercent = float64(cur.stats.CPUTimeNs-p.stats.CPUTimeNs) / float64(wall.Nanoseconds()) * 100
			}
			prev[rec.ID] = cur
			round = append(round, cur.stats)
		}
		if err := opts.Emit(round); err != nil || !opts.Stream {
			return err
		}
		if len(opts.Refs) == 0 {
			// New containers join the stream; stopped ones leave it.
			if recs, err = r.statsTargets(nil); err != nil {
				return err
			}
		}
	}
}

func (r *Runtime) statsTargets(refs []string) ([]*Record, error) {
	if len(refs) == 0 {
		return r.Containers(false)
	}
	var recs []*Record
	for _, ref := range refs {
		rec, err := r.lookup(ref)
		if err != nil {
			return nil, err
		}
		r.refresh(rec)
		if rec.State != StateRunning {
			return nil, fmt.Errorf("%w: container %s is %s", ErrNotRunning, rec.Name, rec.State)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// memoryAccounted says whether the host has the memory controller, so
// that cgroups keep memory figures (true when the layout cannot be read:
// the library's view decides then).
func (r *Runtime) memoryAccounted() bool {
	if r.cgroupless() != nil {
		return true // figures from procfs
	}
	h, err := cgroups.Detect("/")
	return err != nil || h.Controllers["memory"]
}

// sample reads one container's counters; false when it is not running.
// memory is memoryAccounted's answer.
func (r *Runtime) sample(rec *Record, memory bool) (statSample, bool) {
	c := r.loadLibcontainer(rec.ID)
	if c == nil {
		return statSample{}, false
	}
	s := ContainerStats{ID: rec.ID, Name: rec.Name}
	state, err := c.State()
	if err != nil || state.InitProcessPid <= 0 {
		return statSample{}, false
	}
	if r.cgroupless() != nil {
		// No cgroup (rootless): the processes of the container's PID namespace.
		pids := pidNamespaceMembers(state.InitProcessPid)
		if len(pids) == 0 {
			return statSample{}, false
		}
		s.Usage = cgroups.UsageOfProcesses(pids)
	} else {
		st, err := c.Stats()
		if err != nil || st.CgroupStats == nil {
			return statSample{}, false
		}
		s.Usage = cgroups.UsageOf(st.CgroupStats, memory)
	}
	s.NetRx, s.NetTx = netns.Counters(state.InitProcessPid)
	return statSample{at: time.Now(), stats: s}, true
}

// pidNamespaceMembers lists the processes in the PID namespace of init.
func pidNamespaceMembers(init int) []int {
	want, err := os.Readlink("/proc/" + strconv.Itoa(init) + "/ns/pid")
	if err != nil {
		return nil
	}
	return pidNamespaceMembersOf(want)
}

// pidNamespaceMembersOf lists the live processes whose PID namespace is
// want (a /proc/PID/ns/pid link), zombies apart.
func pidNamespaceMembersOf(want string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && ns == want {
			out = append(out, pid) // a zombie has no namespace links: not counted
		}
	}
	return out
}
