package main

import (
	"fmt"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/doctor"
	"github.com/edgerun/edgerun/internal/armcpu"
	"github.com/edgerun/edgerun/netns"
)

// commitTime is the Unix time of the commit this binary was built from,
// set with -ldflags "-X main.commitTime=..." (the doctor's clock check).
var commitTime = ""

type doctorOptions struct {
	Format string
}

func newDoctorCommand(g *globalOptions) *cobra.Command {
	o := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check what this host can do for edgerun, and how to fix what it cannot",
		Long: "doctor checks the cgroup layout and controllers, user namespaces, subordinate IDs,\n" +
			"overlayfs under --root, the network modules, forward chains of the host's firewall that\n" +
			"drop the bridge's traffic, seccomp, the clock, free space and the CPU architecture. Run as an ordinary user, it also checks rootless mode: newuidmap and\n" +
			"newgidmap, cgroup delegation, slirp4netns and /dev/net/tun, unprivileged ports and lingering.\n" +
			"Each line says what was found and, when something is missing, the fix.\n" +
			"Exit status 0: edgerun can run containers here; 1: a check failed.",
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if o.Format != "text" && o.Format != "json" {
				return fmt.Errorf("unknown --format %q: use text or json", o.Format)
			}
			r := doctor.Run(doctorRunOptions(g))
			var err error
			if o.Format == "json" {
				err = r.WriteJSON(g.Stdout)
			} else {
				err = r.WriteText(g.Stdout)
			}
			if err != nil {
				return err
			}
			if !r.OK {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Format, "format", "text", "output format: text or json")
	return cmd
}

// doctorRunOptions gathers the facts of this process for the checks.
func doctorRunOptions(g *globalOptions) doctor.Options {
	o := doctor.Options{
		HostRoot: "/", Root: g.Root, State: g.State, UID: os.Geteuid(),
		GOARCH: runtime.GOARCH, Now: time.Now(),
		ProbeOverlay: doctor.ProbeOverlay, ProbeNetwork: doctor.ProbeNetwork, Statfs: doctor.Statfs,
		Path: os.Getenv("PATH"), HelperPrivilege: doctor.HelperPrivilege, Writable: doctor.Writable,
		ProbeTun: doctor.ProbeTun, ProbeUserns: doctor.ProbeUserns,
	}
	if n, err := netns.Open(netns.Config{Root: g.Root, State: g.State, Bridge: g.Bridge, Subnet: g.Subnet}); err == nil {
		o.Bridge = n.Bridge()
		o.ForwardBlocks = func() ([]doctor.ForwardBlock, error) {
			blocks, err := n.ForwardBlocks()
			out := make([]doctor.ForwardBlock, len(blocks))
			for i, b := range blocks {
				out[i] = doctor.ForwardBlock{Problem: b.Problem(), Commands: b.Commands}
			}
			return out, err
		}
	}
	if sec, err := strconv.ParseInt(commitTime, 10, 64); err == nil {
		o.Built = time.Unix(sec, 0)
	}
	o.User = os.Getenv("SUDO_USER")
	if o.User == "" {
		o.User = strconv.Itoa(os.Getuid()) // no passwd entry (CI containers run with --user 1000)
		if u, err := user.Current(); err == nil {
			o.User = u.Username
		}
	}
	var uts unix.Utsname
	if unix.Uname(&uts) == nil {
		o.Machine = unix.ByteSliceToString(uts.Machine[:])
	}
	o.GOARM, _, _ = strings.Cut(armcpu.BuildGOARM(), ",") // "" off arm
	return o
}
