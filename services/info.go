package services

import (
	"fmt"
	"io"
	"strings"

	units "github.com/docker/go-units"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/doctor"
)

// InfoDoc is `edgerun info`'s document, in docker's shape (`docker info
// --format '{{.Containers}}'` scripts work unchanged) where edgerun has
// the concept; edgerun's own facts are under Edgerun.
type InfoDoc struct {
	Containers        int
	ContainersRunning int
	ContainersPaused  int
	ContainersStopped int
	Images            int
	Driver            string // overlay (copy when the kernel refuses it, per container)
	LoggingDriver     string // edgerun: the size-capped CRI-format file, as inspect's LogConfig.Type
	CgroupDriver      string // cgroupfs: edgerun writes its cgroups itself, no systemd
	CgroupVersion     string
	KernelVersion     string
	OperatingSystem   string
	OSVersion         string
	OSType            string
	Architecture      string
	NCPU              int
	MemTotal          int64
	Name              string // the host name
	DockerRootDir     string // --root
	SecurityOptions   []string
	Runtimes          map[string]InfoRuntime
	DefaultRuntime    string
	ServerVersion     string
	Edgerun           EdgerunInfo
}

// InfoRuntime is a runtime docker info lists: edgerun is its own (runc's
// libcontainer is linked in), so Path is this binary.
type InfoRuntime struct {
	Path string `json:"path"`
}

// EdgerunInfo is what only edgerun has.
type EdgerunInfo struct {
	StateDir string
	Bridge   string
	Subnet   string
	Rootless bool
	// CgroupParent is where containers' cgroups go (/edgerun as root,
	// below the delegated cgroup rootless); NoCgroups says why there are
	// none (rootless without a delegated cgroup v2 subtree).
	CgroupParent string
	NoCgroups    string `json:",omitempty"`
	// Libcontainer is the version of runc's libcontainer linked in.
	Libcontainer string
}

// InfoOptions are what Info cannot find out itself.
type InfoOptions struct {
	// Host says how to read the machine (doctor's options; only the files
	// are read, nothing is probed).
	Host doctor.Options
	// Version and Libcontainer are this build's; Binary is its path.
	Version, Libcontainer, Binary string
}

// Info is `edgerun info`: the runtime's counts and settings with the
// host facts doctor reads.
func Info(r *container.Runtime, opts InfoOptions) (InfoDoc, error) {
	ri, err := r.Info()
	if err != nil {
		return InfoDoc{}, err
	}
	h := doctor.Host(opts.Host)
	d := InfoDoc{
		Containers: ri.Containers, ContainersRunning: ri.Running, ContainersPaused: ri.Paused, ContainersStopped: ri.Stopped,
		Images: ri.Images, Driver: "overlay", LoggingDriver: "edgerun", CgroupDriver: "cgroupfs", CgroupVersion: h.CgroupVersion,
		KernelVersion: h.KernelVersion, OperatingSystem: h.OperatingSystem, OSVersion: h.OSVersion, OSType: h.OSType,
		Architecture: h.Architecture, NCPU: h.CPUs, MemTotal: h.MemTotal, Name: h.Hostname, DockerRootDir: ri.Root,
		Runtimes: map[string]InfoRuntime{"edgerun": {Path: opts.Binary}}, DefaultRuntime: "edgerun", ServerVersion: opts.Version,
		SecurityOptions: []string{},
		Edgerun: EdgerunInfo{StateDir: ri.State, Bridge: ri.Bridge, Subnet: ri.Subnet, Rootless: ri.Rootless,
			CgroupParent: ri.CgroupParent, NoCgroups: ri.NoCgroups, Libcontainer: opts.Libcontainer},
	}
	if h.Seccomp {
		d.SecurityOptions = append(d.SecurityOptions, "name=seccomp,profile=builtin")
	}
	if ri.Rootless {
		d.SecurityOptions = append(d.SecurityOptions, "name=rootless", "name=userns")
	}
	if h.CgroupNS {
		d.SecurityOptions = append(d.SecurityOptions, "name=cgroupns")
	}
	d.SecurityOptions = append(d.SecurityOptions, "name=no-new-privileges")
	return d, nil
}

// WriteText prints the document as docker info prints its server part.
func (d InfoDoc) WriteText(w io.Writer) error {
	var b strings.Builder
	p := func(indent int, k string, v any) { fmt.Fprintf(&b, "%s%s: %v\n", strings.Repeat(" ", indent), k, v) }
	p(0, "Containers", d.Containers)
	p(1, "Running", d.ContainersRunning)
	p(1, "Paused", d.ContainersPaused)
	p(1, "Stopped", d.ContainersStopped)
	p(0, "Images", d.Images)
	p(0, "Server Version", d.ServerVersion)
	p(0, "Storage Driver", d.Driver)
	p(0, "Logging Driver", d.LoggingDriver)
	p(0, "Cgroup Driver", d.CgroupDriver)
	p(0, "Cgroup Version", d.CgroupVersion)
	p(0, "Runtimes", strings.Join(mapKeys(d.Runtimes), " "))
	p(0, "Default Runtime", d.DefaultRuntime)
	p(0, "libcontainer version", d.Edgerun.Libcontainer)
	b.WriteString("Security Options:\n")
	for _, o := range d.SecurityOptions {
		name, rest, _ := strings.Cut(strings.TrimPrefix(o, "name="), ",")
		fmt.Fprintf(&b, " %s\n", name)
		if profile, ok := strings.CutPrefix(rest, "profile="); ok {
			fmt.Fprintf(&b, "  Profile: %s\n", profile)
		}
	}
	p(0, "Kernel Version", d.KernelVersion)
	p(0, "Operating System", d.OperatingSystem)
	p(0, "OSType", d.OSType)
	p(0, "Architecture", d.Architecture)
	p(0, "CPUs", d.NCPU)
	p(0, "Total Memory", units.BytesSize(float64(d.MemTotal)))
	p(0, "Name", d.Name)
	p(0, "Edgerun Root Dir", d.DockerRootDir)
	p(0, "Edgerun State Dir", d.Edgerun.StateDir)
	p(0, "Bridge", d.Edgerun.Bridge+" "+d.Edgerun.Subnet)
	p(0, "Rootless", d.Edgerun.Rootless)
	if d.Edgerun.NoCgroups != "" {
		p(0, "Container Cgroups", "none: "+d.Edgerun.NoCgroups)
	} else {
		p(0, "Container Cgroups", d.Edgerun.CgroupParent)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
