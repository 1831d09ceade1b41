package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/images"
	"github.com/edgerun/edgerun/specgen"
)

// runFlags are run's flags, which create shares: read into RunOptions.
type runFlags struct {
	opts       container.RunOptions
	detach     bool
	envFiles   []string
	entrypoint string
	tty        bool
	rf         registryFlags
	lf         layerLimitFlags
	labels     []string
	stopSecs   int
	quiet      bool // -q: no pull progress
	networks   []string
}

func newRunCommand(g *globalOptions) *cobra.Command {
	var rf runFlags
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Run a command in a new container",
		Long: "Run a command in a new container, in the foreground: stdio is passed through,\n" +
			"signals are forwarded, and edgerun exits with the container's exit code\n" +
			"(125 when edgerun fails, 126 when the command cannot be invoked, 127 when it\n" +
			"is not found).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := rf.options(cmd, g, args)
			if err != nil {
				return err
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return &exitError{code: container.ExitRuntimeFailed, err: err}
			}
			pr := runPullEvents(g, &opts, rf.quiet)
			if rf.detach {
				err := runDetached(cmd, g, rt, opts)
				pr.finish(nil)
				return err
			}
			code, err := rt.Run(cmd.Context(), opts)
			pr.finish(nil)
			if err != nil || code != 0 {
				return &exitError{code: code, err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Bool("help", false, "help for run") // -h is --hostname, as in docker
	addDetachFlags(f, &rf.opts, &rf.detach)
	rf.add(f)
	return cmd
}

// options reads the flags and arguments into run options; its errors
// exit 125.
func (rf *runFlags) options(cmd *cobra.Command, g *globalOptions, args []string) (container.RunOptions, error) {
	var err error
	opts := rf.opts
	fail := func(err error) (container.RunOptions, error) {
		return opts, &exitError{code: container.ExitRuntimeFailed, err: err}
	}
	opts.Image, opts.Spec.Args = args[0], args[1:]
	if cmd.Flags().Changed("entrypoint") {
		opts.Spec.Entrypoint = &rf.entrypoint
	}
	opts.Spec.TTY = rf.tty
	if len(rf.networks) > 0 { // the first is the mode; more are further networks (eth1, ...)
		opts.Net.Mode, opts.Net.More = rf.networks[0], rf.networks[1:]
	}
	if opts.Labels, err = parseLabels(rf.labels); err != nil {
		return fail(err)
	}
	if rf.stopSecs < 0 {
		return fail(fmt.Errorf("--stop-timeout %d: give the seconds, 0 or more", rf.stopSecs))
	}
	opts.StopTimeout = time.Duration(rf.stopSecs) * time.Second
	env, err := readEnvFiles(rf.envFiles)
	if err != nil {
		return fail(err)
	}
	opts.Spec.Env = append(env, opts.Spec.Env...)
	opts.Spec.HostEnv = os.LookupEnv
	if opts.Spec.Volumes, err = absVolumes(opts.Spec.Volumes); err != nil {
		return fail(err)
	}
	opts.Stdin, opts.Stdout, opts.Stderr = g.Stdin, g.Stdout, g.Stderr
	opts.Notice = func(msg string) { fmt.Fprintf(g.Stderr, "edgerun: note: %s\n", msg) }
	if err := rf.rf.apply(&opts.PullWith); err != nil {
		return fail(err)
	}
	if opts.PullWith.MaxLayerRatio, opts.PullWith.MinFree, err = rf.lf.values(); err != nil {
		return fail(err)
	}
	return opts, nil
}

// add adds the flags run and create share.
func (rf *runFlags) add(f *pflag.FlagSet) {
	opts := &rf.opts
	f.SetInterspersed(false) // flags after IMAGE belong to the command
	f.StringVar(&opts.Name, "name", "", "name of the container")
	f.BoolVar(&opts.Remove, "rm", false, "remove the container when it exits")
	f.StringVar(&opts.CIDFile, "cidfile", "", "write the container ID to a file (which must not exist)")
	addHealthFlags(f, &opts.Health)
	f.StringArrayVarP(&rf.labels, "label", "l", nil, "set a label on the container: KEY=VALUE")
	f.StringVar(&opts.Spec.StopSignal, "stop-signal", "", "signal that stops the container (default: the image's, else TERM)")
	f.IntVar(&rf.stopSecs, "stop-timeout", 0, "seconds stop waits for the stop signal before SIGKILL (default 10)")
	f.StringArrayVarP(&opts.Spec.Env, "env", "e", nil, "set an environment variable (KEY=VALUE, or KEY to pass the host's)")
	f.StringArrayVar(&rf.envFiles, "env-file", nil, "read environment variables from a file")
	f.BoolVarP(&rf.quiet, "quiet", "q", false, "print no pull progress")
	f.StringVarP(&opts.Spec.Workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&opts.Spec.User, "user", "u", "", "user to run as: name or uid[:gid] (looked up in the image)")
	f.StringArrayVar(&opts.Spec.GroupAdd, "group-add", nil, "additional group to join")
	f.StringVar(&rf.entrypoint, "entrypoint", "", "override the image's entrypoint (empty clears it)")
	f.StringVarP(&opts.Spec.Hostname, "hostname", "h", "", "container host name")
	f.StringArrayVarP(&opts.Spec.Volumes, "volume", "v", nil, "bind mount a host path (absolute, or ./relative to here) or mount a named volume: HOST-PATH|VOLUME:DST[:ro|rw]")
	f.StringArrayVar(&opts.Spec.Mounts, "mount", nil, "attach a mount: type=bind|volume|tmpfs,source=...,target=...[,readonly]")
	f.StringArrayVar(&opts.Spec.Tmpfs, "tmpfs", nil, "mount a tmpfs: DST[:OPTIONS]")
	f.StringVar(&opts.Spec.ShmSize, "shm-size", "", "size of /dev/shm, e.g. 128m (default 64m)")
	f.BoolVar(&opts.Spec.ReadOnly, "read-only", false, "mount the container's root file system read-only")
	f.BoolVarP(&rf.tty, "tty", "t", false, "allocate a pseudo-terminal")
	f.BoolVarP(&opts.Interactive, "interactive", "i", false, "keep standard input open")
	f.BoolVar(&opts.Init, "init", false, "run a small init as PID 1 that forwards signals and reaps orphans")
	f.StringArrayVar(&opts.Spec.Devices, "device", nil, "add a host device: HOST[:CONTAINER][:rwm]; HOST may be a stable link (/dev/serial/by-id/...), followed at every start")
	f.StringArrayVar(&opts.Spec.OptionalDevices, "device-optional", nil, "like --device, but start without the device when it is missing (it appears when plugged in, with -d)")
	f.StringArrayVar(&opts.Spec.DeviceCgroupRules, "device-cgroup-rule", nil, "allow devices by number, like 'c 188:* rwm'; the matching nodes in /dev appear in the container, also when plugged in later (with -d)")
	f.BoolVar(&opts.Spec.RestartOnDevice, "restart-on-device", false, "restart the container (-d) when one of its devices comes back or is replaced, instead of adding it while it runs")
	f.StringArrayVar(&opts.Spec.CapAdd, "cap-add", nil, "add a Linux capability (or ALL)")
	f.StringArrayVar(&opts.Spec.CapDrop, "cap-drop", nil, "drop a Linux capability (or ALL)")
	f.BoolVar(&opts.Spec.Privileged, "privileged", false, "give the container all capabilities and devices, no seccomp")
	f.StringArrayVar(&opts.Spec.SecurityOpts, "security-opt", nil, "no-new-privileges[:true|false], seccomp=unconfined, seccomp=PROFILE.json, apparmor=PROFILE, apparmor=unconfined, label=disable|user:U|role:R|type:T|level:L")
	f.StringArrayVar(&opts.Spec.Sysctls, "sysctl", nil, "set a namespaced kernel parameter: NAME=VALUE")
	f.StringArrayVar(&opts.Spec.Ulimits, "ulimit", nil, "set a resource limit: NAME=SOFT[:HARD]")
	f.StringVar(&opts.Platform, "platform", "", "require the image to be for this platform (os/arch[/variant])")
	f.StringVar(&opts.Pull, "pull", images.PullMissing, "pull the image before running: missing, always or never")
	addRegistryFlags(f, &opts.PullWith, &rf.rf)
	addLayerLimitFlags(f, &rf.lf)
	f.StringArrayVar(&rf.networks, "network", []string{envOr(os.Getenv, "EDGERUN_NETWORK", container.NetworkBridge)},
		"network: bridge, host, none, container:NAME or a network of network ls; repeat for more networks (eth1, ...) [$EDGERUN_NETWORK]")
	f.StringArrayVar(&opts.Net.Aliases, "network-alias", nil, "another name of the container on its user-defined networks")
	f.StringArrayVarP(&opts.Net.Publish, "publish", "p", nil, "publish a container port: [HOSTIP:][HOSTPORT:]CONTAINERPORT[/tcp|udp]; ports may be ranges (8000-8010:8000-8010)")
	f.BoolVarP(&opts.Net.PublishAll, "publish-all", "P", false, "publish the image's exposed ports on free host ports")
	f.StringArrayVar(&opts.Net.Expose, "expose", nil, "record a port the container serves, without publishing it: PORT[/tcp|udp] or START-END[/tcp|udp]")
	f.StringVar(&opts.Net.IP, "ip", "", "the container's address on its first network")
	f.StringVar(&opts.Net.IP6, "ip6", "", "the container's IPv6 address on its first network (one created with --ipv6)")
	f.StringArrayVar(&opts.Resolv.DNS, "dns", nil, "DNS server for the container")
	f.StringArrayVar(&opts.Resolv.Search, "dns-search", nil, "DNS search domain")
	f.StringArrayVar(&opts.Resolv.Options, "dns-option", nil, "DNS resolver option")
	f.StringArrayVar(&opts.Resolv.AddHosts, "add-host", nil, "add a line to /etc/hosts: NAME:IP")
	f.StringVarP(&opts.Limits.Memory, "memory", "m", "", "memory limit, e.g. 256m")
	f.StringVar(&opts.Limits.MemorySwap, "memory-swap", "", "memory plus swap limit (-1: unlimited swap)")
	f.StringVar(&opts.Limits.MemoryReservation, "memory-reservation", "", "memory soft limit, e.g. 128m: what the container keeps when the host runs short of memory (best effort)")
	f.StringVar(&opts.Limits.KernelMemory, "kernel-memory", "", "refused: Linux no longer limits kernel memory (it counts against --memory)")
	f.BoolVar(&opts.Limits.OOMKillDisable, "oom-kill-disable", false, "at the --memory limit, make the container's processes wait instead of being OOM killed (cgroup v1 only)")
	f.StringVar(&opts.Limits.CPUs, "cpus", "", "number of CPUs, e.g. 1.5")
	f.StringVarP(&opts.Limits.CPUShares, "cpu-shares", "c", "", "relative CPU weight")
	f.StringVar(&opts.Limits.CPUSetCPUs, "cpuset-cpus", "", "CPUs the container may use, e.g. 0-1")
	f.StringVar(&opts.Limits.PidsLimit, "pids-limit", "", "maximum number of processes (-1: unlimited)")
	f.StringVar(&opts.Limits.OOMScoreAdj, "oom-score-adj", "", "OOM score adjustment, -1000..1000")
}

// readEnvFiles reads --env-file files in order.
func readEnvFiles(paths []string) ([]string, error) {
	var env []string
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("--env-file: %w", err)
		}
		e, err := specgen.ParseEnvFile(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("--env-file %s: %w", p, err)
		}
		env = append(env, e...)
	}
	return env, nil
}

// parseLabels reads -l KEY=VALUE flags (a bare KEY is an empty value, as
// in docker).
func parseLabels(flags []string) (map[string]string, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(flags))
	for _, l := range flags {
		k, v, _ := strings.Cut(l, "=")
		if k == "" {
			return nil, fmt.Errorf("-l %q: a label is KEY=VALUE", l)
		}
		m[k] = v
	}
	return m, nil
}

// absVolumes resolves -v's relative host paths (./x, ../x, dir/sub)
// against the working directory, before anything records them: a later
// start from another directory mounts the same path.
func absVolumes(vols []string) ([]string, error) {
	if len(vols) == 0 {
		return vols, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("resolve relative -v paths: %w", err)
	}
	return specgen.AbsVolumePaths(vols, wd)
}
