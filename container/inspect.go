package container

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/edgerun/edgerun/cgroups"
	"github.com/edgerun/edgerun/health"
	"github.com/edgerun/edgerun/netns"
	"github.com/edgerun/edgerun/specgen"
)

// InspectVersion is the version of the inspect document (Edgerun.
// InspectVersion). It changes when a field changes meaning or goes away;
// new fields do not change it. docs/cli.md describes the document.
const InspectVersion = 1

// InspectDoc is what `inspect` prints of a container: docker's document
// where edgerun has the same concept, with docker's names, and edgerun's
// own fields under Edgerun. Firmware parses it: keep it stable.
type InspectDoc struct {
	ID              string          `json:"Id"`
	Created         time.Time       `json:"Created"`
	Path            string          `json:"Path"`
	Args            []string        `json:"Args"`
	State           InspectState    `json:"State"`
	Image           string          `json:"Image"` // the image's digest
	Name            string          `json:"Name"`  // "/" + name, as docker
	RestartCount    int             `json:"RestartCount"`
	HostConfig      HostConfig      `json:"HostConfig"`
	Mounts          []InspectMount  `json:"Mounts"`
	Config          InspectConfig   `json:"Config"`
	NetworkSettings NetworkSettings `json:"NetworkSettings"`
	Edgerun         EdgerunInfo     `json:"Edgerun"`
}

// InspectState is docker's State.
type InspectState struct {
	Status     string         `json:"Status"` // created, running, restarting, exited
	Running    bool           `json:"Running"`
	Paused     bool           `json:"Paused"`
	Restarting bool           `json:"Restarting"`
	OOMKilled  bool           `json:"OOMKilled"`
	Dead       bool           `json:"Dead"`
	Pid        int            `json:"Pid"`
	ExitCode   int            `json:"ExitCode"`
	Error      string         `json:"Error"`
	StartedAt  time.Time      `json:"StartedAt"`
	FinishedAt time.Time      `json:"FinishedAt"`
	Health     *InspectHealth `json:"Health,omitempty"` // only with a health check
}

// InspectHealth is docker's State.Health.
type InspectHealth struct {
	Status        string         `json:"Status"`
	FailingStreak int            `json:"FailingStreak"`
	Log           []HealthResult `json:"Log"`
}

// HealthResult is one probe of State.Health.Log.
type HealthResult struct {
	Start    time.Time `json:"Start"`
	End      time.Time `json:"End"`
	ExitCode int       `json:"ExitCode"`
	Output   string    `json:"Output"`
}

// HostConfig is docker's HostConfig: how the container is run.
type HostConfig struct {
	Binds          []string                 `json:"Binds"`
	NetworkMode    string                   `json:"NetworkMode"`
	PortBindings   map[string][]PortBinding `json:"PortBindings"`
	RestartPolicy  RestartPolicy            `json:"RestartPolicy"`
	AutoRemove     bool                     `json:"AutoRemove"`
	LogConfig      LogConfig                `json:"LogConfig"`
	CapAdd         []string                 `json:"CapAdd"`
	CapDrop        []string                 `json:"CapDrop"`
	Privileged     bool                     `json:"Privileged"`
	ReadonlyRootfs bool                     `json:"ReadonlyRootfs"`
	Init           bool                     `json:"Init"`
	Memory         int64                    `json:"Memory"`
	MemorySwap     int64                    `json:"MemorySwap"`
	NanoCpus       int64                    `json:"NanoCpus"`
	CpuShares      uint64                   `json:"CpuShares"` //nolint:revive // docker's name
	CpusetCpus     string                   `json:"CpusetCpus"`
	PidsLimit      int64                    `json:"PidsLimit"`
	OomScoreAdj    int                      `json:"OomScoreAdj"`
}

// PortBinding is a host side of a published port.
type PortBinding struct {
	HostIP   string `json:"HostIp"`
	HostPort string `json:"HostPort"`
}

// RestartPolicy is docker's HostConfig.RestartPolicy.
type RestartPolicy struct {
	Name              string `json:"Name"`
	MaximumRetryCount int    `json:"MaximumRetryCount"`
}

// LogConfig says where a detached container's output goes: edgerun's own
// size-capped log (Type "edgerun"), with --log-opt as Config.
type LogConfig struct {
	Type   string            `json:"Type"`
	Config map[string]string `json:"Config"`
}

// InspectMount is one user mount (-v, --mount, --tmpfs, image VOLUME).
type InspectMount struct {
	Type        string `json:"Type"` // bind, volume, tmpfs
	Name        string `json:"Name,omitempty"`
	Source      string `json:"Source"`
	Destination string `json:"Destination"`
	Mode        string `json:"Mode"`
	RW          bool   `json:"RW"`
}

// InspectConfig is docker's Config: what the container runs.
type InspectConfig struct {
	Hostname     string              `json:"Hostname"`
	User         string              `json:"User"`
	Tty          bool                `json:"Tty"`
	OpenStdin    bool                `json:"OpenStdin"`
	Env          []string            `json:"Env"`
	Cmd          []string            `json:"Cmd"`
	Healthcheck  *HealthConfig       `json:"Healthcheck,omitempty"`
	Image        string              `json:"Image"` // the name it was run with
	WorkingDir   string              `json:"WorkingDir"`
	Entrypoint   []string            `json:"Entrypoint"`
	Labels       map[string]string   `json:"Labels"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	StopSignal   string              `json:"StopSignal,omitempty"`
	StopTimeout  *int                `json:"StopTimeout,omitempty"` // seconds
}

// HealthConfig is docker's Config.Healthcheck (durations in nanoseconds).
type HealthConfig struct {
	Test          []string      `json:"Test"`
	Interval      time.Duration `json:"Interval"`
	Timeout       time.Duration `json:"Timeout"`
	StartPeriod   time.Duration `json:"StartPeriod"`
	StartInterval time.Duration `json:"StartInterval"`
	Retries       int           `json:"Retries"`
}

// NetworkSettings is docker's NetworkSettings.
type NetworkSettings struct {
	IPAddress   string                      `json:"IPAddress"`
	IPPrefixLen int                         `json:"IPPrefixLen"`
	Gateway     string                      `json:"Gateway"`
	MacAddress  string                      `json:"MacAddress"`
	Ports       map[string][]PortBinding    `json:"Ports"`
	Networks    map[string]*EndpointSetting `json:"Networks"`
}

// EndpointSetting is one network of NetworkSettings.Networks.
type EndpointSetting struct {
	IPAddress   string `json:"IPAddress"`
	IPPrefixLen int    `json:"IPPrefixLen"`
	Gateway     string `json:"Gateway"`
	MacAddress  string `json:"MacAddress"`
}

// EdgerunInfo holds what edgerun knows of a container that docker's
// document has no place for.
type EdgerunInfo struct {
	InspectVersion int `json:"InspectVersion"`
	// Detached: a monitor owns the container (run -d, start).
	Detached   bool   `json:"Detached"`
	MonitorPid int    `json:"MonitorPid"`
	BootID     string `json:"BootID"`
	// Snapshot is how the root file system is made: overlay or copy.
	Snapshot      string          `json:"Snapshot"`
	Layers        []digest.Digest `json:"Layers"`
	RestartPolicy string          `json:"RestartPolicy"` // as given: on-failure:3
	// RestartDelay is the backoff before the next restart, in
	// nanoseconds, while restarting.
	RestartDelay       time.Duration `json:"RestartDelay"`
	StoppedByUser      bool          `json:"StoppedByUser"`
	StoppedForShutdown bool          `json:"StoppedForShutdown"`
	MonitorLost        bool          `json:"MonitorLost"`
	HostRestarted      bool          `json:"HostRestarted"`
	HealthOnFailure    string        `json:"HealthOnFailure,omitempty"`
	HealthRestart      bool          `json:"HealthRestart"`
	StopTimeout        time.Duration `json:"StopTimeout"` // nanoseconds; 0 is the default
	Volumes            []string      `json:"Volumes"`     // named volumes in use
	// Network is the bridge attachment: bridge, veth, subnet, MTU.
	Network *netns.Attachment `json:"Network,omitempty"`
	// Update is the last update of the container's service.
	Update *UpdateStatus `json:"Update,omitempty"`
}

// InspectDocument returns the inspect document of one container, its state
// made current. The image's config fills what the container got from its
// image (Entrypoint and Cmd apart, labels, exposed ports) when the image is
// still stored.
func (r *Runtime) InspectDocument(ref string) (*InspectDoc, error) {
	rec, err := r.Inspect(ref)
	if err != nil {
		return nil, err
	}
	in := inspectInput{rec: rec, health: r.Health(rec)}
	if q, err := r.loadRequest(rec); err == nil {
		in.req = q
	}
	if spec, err := r.loadSpec(rec.ID); err == nil {
		in.spec = spec
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if store, err := r.Images(); err == nil && rec.ImageDigest != "" {
		if img, err := store.Get(rec.ImageDigest.String()); err == nil {
			in.image = &img.Config.Config
		}
	}
	return buildInspect(in), nil
}

// inspectInput is everything the document is made of; any part but rec
// may be missing (a container made by an older edgerun has no request).
type inspectInput struct {
	rec    *Record
	req    *request
	spec   *specs.Spec
	image  *ocispec.ImageConfig
	health *health.State
}

func buildInspect(in inspectInput) *InspectDoc {
	rec := in.rec
	d := &InspectDoc{
		ID: rec.ID, Created: rec.Created, Name: "/" + rec.Name, Image: rec.ImageDigest.String(),
		RestartCount: rec.RestartCount, Mounts: []InspectMount{}, Args: []string{},
		State: inspectState(rec, in.health),
	}
	if len(rec.Command) > 0 {
		d.Path, d.Args = rec.Command[0], append([]string{}, rec.Command[1:]...)
	}
	d.Config = inspectConfig(in)
	d.HostConfig = hostConfig(in)
	if in.req != nil {
		d.Mounts = inspectMounts(&in.req.Spec)
	}
	d.NetworkSettings = networkSettings(rec)
	d.Edgerun = EdgerunInfo{
		InspectVersion: InspectVersion, Detached: rec.Detached, MonitorPid: rec.MonitorPid, BootID: rec.BootID,
		Snapshot: rec.Snapshot, Layers: rec.Layers, RestartPolicy: rec.RestartPolicy, RestartDelay: rec.RestartDelay,
		StoppedByUser: rec.StoppedByUser, StoppedForShutdown: rec.StoppedForShutdown, MonitorLost: rec.MonitorLost,
		HostRestarted: rec.HostRestarted, HealthRestart: rec.HealthRestart, StopTimeout: rec.StopTimeout,
		Volumes: rec.Volumes, Network: rec.Network.Bridge, Update: rec.Update,
	}
	if d.Edgerun.Layers == nil {
		d.Edgerun.Layers = []digest.Digest{}
	}
	if d.Edgerun.Volumes == nil {
		d.Edgerun.Volumes = []string{}
	}
	if rec.HealthCheck != nil {
		d.Edgerun.HealthOnFailure = rec.HealthCheck.OnFailure
	}
	return d
}

func inspectState(rec *Record, h *health.State) InspectState {
	s := InspectState{
		Status: string(rec.State), Running: rec.State == StateRunning, Restarting: rec.State == StateRestarting,
		OOMKilled: rec.OOMKilled, ExitCode: rec.ExitCode, Error: rec.Error,
		StartedAt: rec.StartedAt, FinishedAt: rec.FinishedAt,
	}
	if rec.State == StateRunning {
		s.Pid = rec.Pid
	}
	if h != nil {
		s.Health = &InspectHealth{Status: h.Status, FailingStreak: h.FailingStreak, Log: []HealthResult{}}
		for _, l := range h.Log {
			s.Health.Log = append(s.Health.Log, HealthResult(l))
		}
	}
	return s
}

func inspectConfig(in inspectInput) InspectConfig {
	rec := in.rec
	c := InspectConfig{Image: rec.Image, Labels: map[string]string{}, Env: []string{}, OpenStdin: rec.OpenStdin}
	var img ocispec.ImageConfig
	if in.image != nil {
		img = *in.image
	}
	for k, v := range img.Labels {
		c.Labels[k] = v
	}
	for k, v := range rec.Labels {
		c.Labels[k] = v
	}
	for p := range img.ExposedPorts {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		c.ExposedPorts[p] = struct{}{}
	}
	c.Entrypoint, c.Cmd = img.Entrypoint, img.Cmd
	c.User, c.WorkingDir, c.StopSignal = img.User, img.WorkingDir, img.StopSignal
	if q := in.req; q != nil {
		if q.Spec.Entrypoint != nil {
			// docker: --entrypoint resets the image's Cmd.
			c.Entrypoint, c.Cmd = nil, nil
			if *q.Spec.Entrypoint != "" {
				c.Entrypoint = []string{*q.Spec.Entrypoint}
			}
		}
		if len(q.Spec.Args) > 0 {
			c.Cmd = q.Spec.Args
		}
		if q.Spec.User != "" {
			c.User = q.Spec.User
		}
		if q.Spec.StopSignal != "" {
			c.StopSignal = q.Spec.StopSignal
		}
		for _, p := range q.Net.Publish {
			if m, err := netns.ParsePublish(p); err == nil {
				if c.ExposedPorts == nil {
					c.ExposedPorts = map[string]struct{}{}
				}
				c.ExposedPorts[portKey(m.ContainerPort, m.Proto)] = struct{}{}
			}
		}
	}
	if in.image == nil && (in.req == nil || len(in.req.Spec.Args) == 0 && in.req.Spec.Entrypoint == nil) {
		c.Cmd = rec.Command // the image is gone: what ran is all there is
	}
	if s := in.spec; s != nil {
		c.Hostname = s.Hostname
		if s.Process != nil {
			c.Env = append(c.Env, s.Process.Env...)
			c.WorkingDir = s.Process.Cwd
			c.Tty = s.Process.Terminal
		}
	}
	if rec.StopTimeout > 0 {
		secs := int(rec.StopTimeout / time.Second)
		c.StopTimeout = &secs
	}
	if h := rec.HealthCheck; h != nil {
		c.Healthcheck = &HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
	}
	return c
}

func hostConfig(in inspectInput) HostConfig {
	rec := in.rec
	p := rec.Policy()
	h := HostConfig{
		NetworkMode: rec.Network.Mode, AutoRemove: rec.AutoRemove, Binds: []string{},
		PortBindings: map[string][]PortBinding{}, CapAdd: []string{}, CapDrop: []string{},
		RestartPolicy: RestartPolicy{Name: p.Name, MaximumRetryCount: p.Max},
		LogConfig:     LogConfig{Type: "edgerun", Config: map[string]string{}},
	}
	if h.NetworkMode == "" {
		h.NetworkMode = NetworkNone
	}
	if rec.LogMaxSize > 0 {
		h.LogConfig.Config["max-size"] = strconv.FormatInt(rec.LogMaxSize, 10)
	}
	if rec.LogMaxFile > 0 {
		h.LogConfig.Config["max-file"] = strconv.Itoa(rec.LogMaxFile)
	}
	q := in.req
	if q == nil {
		return h
	}
	h.Binds = append(h.Binds, q.Spec.Volumes...)
	h.CapAdd = append(h.CapAdd, q.Spec.CapAdd...)
	h.CapDrop = append(h.CapDrop, q.Spec.CapDrop...)
	h.Privileged, h.ReadonlyRootfs, h.Init = q.Spec.Privileged, q.Spec.ReadOnly, q.Init
	l := q.Spec.Limits
	if parsed, err := cgroups.ParseLimits(q.Limits); err == nil {
		l = parsed // the run's flags: the spec options' are filled at run
	}
	h.Memory, h.MemorySwap, h.NanoCpus, h.CpuShares, h.PidsLimit = l.Memory, l.MemorySwap, l.NanoCPUs, l.CPUShares, l.PidsLimit
	h.CpusetCpus = q.Limits.CPUSetCPUs
	if l.OOMScoreAdj != nil {
		h.OomScoreAdj = *l.OOMScoreAdj
	}
	for _, s := range q.Net.Publish {
		m, err := netns.ParsePublish(s)
		if err != nil {
			continue
		}
		b := PortBinding{}
		if m.HostIP.IsValid() {
			b.HostIP = m.HostIP.String()
		}
		if m.HostPort != 0 {
			b.HostPort = strconv.Itoa(int(m.HostPort))
		}
		k := portKey(m.ContainerPort, m.Proto)
		h.PortBindings[k] = append(h.PortBindings[k], b)
	}
	return h
}

func portKey(port uint16, proto string) string {
	if proto == "" {
		proto = "tcp"
	}
	return fmt.Sprintf("%d/%s", port, proto)
}

// inspectMounts lists the user mounts of a run's options.
func inspectMounts(o *specgen.SpecOptions) []InspectMount {
	out := []InspectMount{}
	add := func(m specgen.MountSpec) {
		im := InspectMount{Type: m.Type, Source: m.Source, Destination: m.Destination, RW: !m.ReadOnly}
		if m.ReadOnly {
			im.Mode = "ro"
		}
		if m.Type == "volume" {
			im.Name = m.Source
			im.Source = o.VolumePaths[m.Source]
		}
		out = append(out, im)
	}
	for _, v := range o.Volumes {
		if m, err := specgen.ParseVolume(v); err == nil {
			add(m)
		}
	}
	for _, v := range o.Mounts {
		if m, err := specgen.ParseMount(v); err == nil {
			add(m)
		}
	}
	for _, v := range o.Tmpfs {
		if m, err := specgen.ParseTmpfs(v); err == nil {
			add(m)
		}
	}
	for dst, src := range o.ImageVolumes {
		out = append(out, InspectMount{Type: "volume", Source: src, Destination: dst, RW: true})
	}
	slices.SortFunc(out, func(a, b InspectMount) int { return strings.Compare(a.Destination, b.Destination) })
	return out
}

func networkSettings(rec *Record) NetworkSettings {
	n := NetworkSettings{Ports: map[string][]PortBinding{}, Networks: map[string]*EndpointSetting{}}
	mode := rec.Network.Mode
	if mode == "" {
		mode = NetworkNone
	}
	a := rec.Network.Bridge
	if a == nil {
		if !strings.HasPrefix(mode, networkContainer) {
			n.Networks[mode] = &EndpointSetting{}
		}
		return n
	}
	ep := &EndpointSetting{IPPrefixLen: a.Subnet.Bits()}
	if a.IP.IsValid() {
		ep.IPAddress = a.IP.String()
	}
	if a.Gateway.IsValid() {
		ep.Gateway = a.Gateway.String()
	}
	n.Networks[mode] = ep
	n.IPAddress, n.IPPrefixLen, n.Gateway = ep.IPAddress, ep.IPPrefixLen, ep.Gateway
	if rec.State == StateRunning {
		for _, p := range a.Ports {
			b := PortBinding{HostIP: "0.0.0.0", HostPort: strconv.Itoa(int(p.HostPort))}
			if p.HostIP.IsValid() {
				b.HostIP = p.HostIP.String()
			}
			k := portKey(p.ContainerPort, p.Proto)
			n.Ports[k] = append(n.Ports[k], b)
		}
	}
	return n
}
