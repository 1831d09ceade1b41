package container

import (
	"fmt"
	"maps"
	"slices"

	"github.com/opencontainers/cgroups"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Update changes the cgroup limits of a running, paused or created
// container: the fields res sets, the others stay. It applies memory,
// CPU, pids, block I/O weight, hugepage limits and unified (cgroup v2)
// settings; device rules are left alone, as runc does, since engines
// send their whole resources block with every update.
func (o *OCIRuntime) Update(id string, res *specs.LinuxResources) error {
	c, err := o.load(id)
	if err != nil {
		return err
	}
	cfg := c.Config()
	if cfg.Cgroups == nil || cfg.Cgroups.Resources == nil {
		return fmt.Errorf("container %s has no cgroup to update", id)
	}
	applyResources(cfg.Cgroups.Resources, res)
	if err := c.Set(cfg); err != nil {
		return fmt.Errorf("update container %s: %w", id, notRunning(id, err))
	}
	return nil
}

// applyResources copies what res sets onto r.
func applyResources(r *cgroups.Resources, res *specs.LinuxResources) {
	if m := res.Memory; m != nil {
		setIf(&r.Memory, m.Limit)
		setIf(&r.MemoryReservation, m.Reservation)
		setIf(&r.MemorySwap, m.Swap)
		if m.Swappiness != nil {
			r.MemorySwappiness = m.Swappiness
		}
		if m.DisableOOMKiller != nil {
			r.OomKillDisable = *m.DisableOOMKiller
		}
	}
	if cpu := res.CPU; cpu != nil {
		setIf(&r.CpuShares, cpu.Shares)
		setIf(&r.CpuQuota, cpu.Quota)
		setIf(&r.CpuPeriod, cpu.Period)
		setIf(&r.CpuRtRuntime, cpu.RealtimeRuntime)
		setIf(&r.CpuRtPeriod, cpu.RealtimePeriod)
		if cpu.Burst != nil {
			r.CpuBurst = cpu.Burst
		}
		if cpu.Idle != nil {
			r.CPUIdle = cpu.Idle
		}
		if cpu.Cpus != "" {
			r.CpusetCpus = cpu.Cpus
		}
		if cpu.Mems != "" {
			r.CpusetMems = cpu.Mems
		}
		if cpu.Shares != nil {
			r.CpuWeight = 0 // derived from the shares again on cgroup v2
		}
	}
	if p := res.Pids; p != nil && p.Limit != nil {
		r.PidsLimit = p.Limit
	}
	if b := res.BlockIO; b != nil {
		setIf(&r.BlkioWeight, b.Weight)
		setIf(&r.BlkioLeafWeight, b.LeafWeight)
	}
	for _, h := range res.HugepageLimits {
		r.HugetlbLimit = slices.DeleteFunc(r.HugetlbLimit, func(l *cgroups.HugepageLimit) bool { return l.Pagesize == h.Pagesize })
		r.HugetlbLimit = append(r.HugetlbLimit, &cgroups.HugepageLimit{Pagesize: h.Pagesize, Limit: h.Limit})
	}
	if len(res.Unified) > 0 {
		if r.Unified == nil {
			r.Unified = map[string]string{}
		}
		maps.Copy(r.Unified, res.Unified)
	}
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}
