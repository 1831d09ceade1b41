package container

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ContainerStats is one measurement of a running container: CPU (percent
// of one CPU over the interval), memory and pids from its cgroup (v1 or
// v2), network counters from its network namespace.
type ContainerStats struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	CPUPercent float64 `json:"cpuPercent"`
	CPUTimeNs  uint64  `json:"cpuTimeNs"`
	MemUsage   uint64  `json:"memUsage"` // without the reclaimable page cache, as docker
	MemLimit   uint64  `json:"memLimit"` // the cgroup limit, or the host's memory
	MemPercent float64 `json:"memPercent"`
	Pids       uint64  `json:"pids"`
	PidsLimit  uint64  `json:"pidsLimit,omitempty"`
	NetRx      uint64  `json:"netRxBytes"`
	NetTx      uint64  `json:"netTxBytes"`
}

// StatsOptions are the inputs of `edgerun stats`.
type StatsOptions struct {
	Refs     []string      // containers; none means every running one
	Interval time.Duration // between the two samples a CPU percentage needs
	Stream   bool          // go on until ctx ends (else one round)
	// Emit receives each round, in the order of Refs (or newest first).
	Emit func([]ContainerStats) error
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
	prev := map[string]statSample{}
	for _, rec := range recs {
		if s, ok := r.sample(rec); ok {
			prev[rec.ID] = s
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(opts.Interval):
		}
		var round []ContainerStats
		for _, rec := range recs {
			cur, ok := r.sample(rec)
			if !ok {
				continue // stopped meanwhile
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

// sample reads one container's counters; false when it is not running.
func (r *Runtime) sample(rec *Record) (statSample, bool) {
	c := r.loadLibcontainer(rec.ID)
	if c == nil {
		return statSample{}, false
	}
	st, err := c.Stats()
	if err != nil || st.CgroupStats == nil {
		return statSample{}, false
	}
	cg := st.CgroupStats
	s := ContainerStats{ID: rec.ID, Name: rec.Name, CPUTimeNs: cg.CpuStats.CpuUsage.TotalUsage}
	mem := cg.MemoryStats
	s.MemUsage = mem.Usage.Usage
	for _, k := range []string{"total_inactive_file", "inactive_file"} {
		if v, ok := mem.Stats[k]; ok && v < s.MemUsage {
			s.MemUsage -= v
			break
		}
	}
	s.MemLimit = mem.Usage.Limit
	if total := hostMemory(); s.MemLimit == 0 || s.MemLimit > total {
		s.MemLimit = total
	}
	if s.MemLimit > 0 {
		s.MemPercent = float64(s.MemUsage) / float64(s.MemLimit) * 100
	}
	s.Pids, s.PidsLimit = cg.PidsStats.Current, cg.PidsStats.Limit
	if state, err := c.State(); err == nil && state.InitProcessPid > 0 {
		s.NetRx, s.NetTx = netCounters(state.InitProcessPid)
	}
	return statSample{at: time.Now(), stats: s}, true
}

func hostMemory() uint64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}

// netCounters sums the received and sent bytes of every interface but lo
// in the network namespace of pid (from /proc/PID/net/dev, which shows the
// process's namespace). A container on the host network shows the host's.
func netCounters(pid int) (rx, tx uint64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/dev")
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			continue
		}
		r, _ := strconv.ParseUint(f[0], 10, 64)
		t, _ := strconv.ParseUint(f[8], 10, 64)
		rx, tx = rx+r, tx+t
	}
	return rx, tx
}
