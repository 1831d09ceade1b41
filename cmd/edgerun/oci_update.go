package main

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/oci"
)

// updateFlags are runc update's flags besides --resources; each one set
// overrides the document's field.
type updateFlags struct {
	memory, reservation, swap string
	shares, period, rtPeriod  uint64
	quota, rtRuntime, pids    int64
	cpus, mems                string
	blkioWeight               uint16
}

func (u *updateFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&u.memory, "memory", "m", "", "memory limit (bytes, or 256m, 1g; -1 for none)")
	f.StringVar(&u.reservation, "memory-reservation", "", "memory soft limit")
	f.StringVar(&u.swap, "memory-swap", "", "memory plus swap limit (-1 for none)")
	f.Uint64Var(&u.shares, "cpu-shares", 0, "CPU shares (relative weight)")
	f.Int64Var(&u.quota, "cpu-quota", 0, "CPU time per period (microseconds; -1 for none)")
	f.Uint64Var(&u.period, "cpu-period", 0, "CPU CFS period (microseconds)")
	f.Int64Var(&u.rtRuntime, "cpu-rt-runtime", 0, "realtime CPU time per period (microseconds)")
	f.Uint64Var(&u.rtPeriod, "cpu-rt-period", 0, "realtime period (microseconds)")
	f.StringVar(&u.cpus, "cpuset-cpus", "", "CPUs to run on (0-3, 0,1)")
	f.StringVar(&u.mems, "cpuset-mems", "", "memory nodes to use")
	f.Int64Var(&u.pids, "pids-limit", 0, "most processes (-1 for none)")
	f.Uint16Var(&u.blkioWeight, "blkio-weight", 0, "block I/O weight (10-1000)")
}

// resources reads the document (path, or "-" for stdin) and applies the
// flags the user set over it.
func (u *updateFlags) resources(cmd *cobra.Command, path string, stdin io.Reader) (*specs.LinuxResources, error) {
	res := &specs.LinuxResources{}
	switch path {
	case "":
	case "-":
		r, err := oci.ReadResources(stdin, "on standard input")
		if err != nil {
			return nil, err
		}
		res = r
	default:
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%w: resources document: %w", oci.ErrInvalidDocument, err)
		}
		defer f.Close()
		if res, err = oci.ReadResources(f, path); err != nil {
			return nil, err
		}
	}
	set := cmd.Flags().Changed
	mem := func(name, v string) (*int64, error) {
		if v == "-1" {
			n := int64(-1)
			return &n, nil
		}
		n, err := units.RAMInBytes(v)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %w", name, v, err)
		}
		return &n, nil
	}
	if set("memory") || set("memory-reservation") || set("memory-swap") {
		if res.Memory == nil {
			res.Memory = &specs.LinuxMemory{}
		}
		for _, m := range []struct {
			name, v string
			dst     **int64
		}{{"memory", u.memory, &res.Memory.Limit}, {"memory-reservation", u.reservation, &res.Memory.Reservation}, {"memory-swap", u.swap, &res.Memory.Swap}} {
			if !set(m.name) {
				continue
			}
			n, err := mem(m.name, m.v)
			if err != nil {
				return nil, err
			}
			*m.dst = n
		}
	}
	cpuFlags := []string{"cpu-shares", "cpu-quota", "cpu-period", "cpu-rt-runtime", "cpu-rt-period", "cpuset-cpus", "cpuset-mems"}
	for _, name := range cpuFlags {
		if set(name) && res.CPU == nil {
			res.CPU = &specs.LinuxCPU{}
		}
	}
	if set("cpu-shares") {
		res.CPU.Shares = &u.shares
	}
	if set("cpu-quota") {
		res.CPU.Quota = &u.quota
	}
	if set("cpu-period") {
		res.CPU.Period = &u.period
	}
	if set("cpu-rt-runtime") {
		res.CPU.RealtimeRuntime = &u.rtRuntime
	}
	if set("cpu-rt-period") {
		res.CPU.RealtimePeriod = &u.rtPeriod
	}
	if set("cpuset-cpus") {
		res.CPU.Cpus = u.cpus
	}
	if set("cpuset-mems") {
		res.CPU.Mems = u.mems
	}
	if set("pids-limit") {
		res.Pids = &specs.LinuxPids{Limit: &u.pids}
	}
	if set("blkio-weight") {
		if u.blkioWeight < 10 || u.blkioWeight > 1000 {
			return nil, fmt.Errorf("--blkio-weight %s: use 10 to 1000", strconv.Itoa(int(u.blkioWeight)))
		}
		if res.BlockIO == nil {
			res.BlockIO = &specs.LinuxBlockIO{}
		}
		res.BlockIO.Weight = &u.blkioWeight
	}
	return res, nil
}
