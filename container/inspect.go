package container

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
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
		OOMKilled: rec.OOMKilled, OOMKills: rec.OOMKills, LastOOMAt: rec.LastOOM, ExitCode: rec.ExitCode, Error: rec.Error,
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
	if in.req != nil {
		requestConfig(&c, in.req)
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

// requestConfig lays the run's options over the image's config, as the
// container got them.
func requestConfig(c *InspectConfig, q *request) {
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
	exposed, _ := q.Net.exposed()
	for _, k := range exposed {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		c.ExposedPorts[k] = struct{}{}
	}
	for _, p := range q.Net.Publish {
		ms, _ := netns.ParsePublish(p)
		for _, m := range ms {
			if c.ExposedPorts == nil {
				c.ExposedPorts = map[string]struct{}{}
			}
			c.ExposedPorts[portKey(m.ContainerPort, m.Proto)] = struct{}{}
		}
	}
}

func hostConfig(in inspectInput) HostConfig {
	rec := in.rec
	p := rec.Policy()
	h := HostConfig{
		NetworkMode: rec.Network.Mode, AutoRemove: rec.AutoRemove, Binds: []string{},
		PortBindings: map[string][]PortBinding{}, CapAdd: []string{}, CapDrop: []string{},
		RestartPolicy: RestartPolicy{Name: p.Name, MaximumRetryCount: p.Max},
		LogConfig:     LogConfig{Type: "edgerun", Config: map[string]string{}},
		ShmSize:       specgen.DefaultShmSize,
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
	if n, err := specgen.ParseShmSize(q.Spec.ShmSize); err == nil {
		h.ShmSize = n
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
	h.MemoryReservation, h.OomKillDisable = l.MemoryReservation, l.OOMKillDisable
	if l.OOMScoreAdj != nil {
		h.OomScoreAdj = *l.OOMScoreAdj
	}
	for _, s := range q.Net.Publish {
		ms, _ := netns.ParsePublish(s)
		for _, m := range ms {
			b := PortBinding{}
			if m.HostIP.IsValid() {
				b.HostIP = m.HostIP.String()
			}
			if m.HostPort != 0 {
				b.HostPort = m.HostPorts() // docker's "8000-8010" for -p 8000-8010:80
			}
			k := portKey(m.ContainerPort, m.Proto)
			h.PortBindings[k] = append(h.PortBindings[k], b)
		}
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
	sort.Slice(out, func(i, j int) bool { return out[i].Destination < out[j].Destination })
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
	for _, at := range rec.Network.Attachments() {
		ep := &EndpointSetting{IPPrefixLen: at.Subnet.Bits(), MacAddress: at.MAC, Aliases: at.Aliases}
		if at.IP.IsValid() {
			ep.IPAddress = at.IP.String()
		}
		if at.Gateway.IsValid() {
			ep.Gateway = at.Gateway.String()
		}
		if at.IP6.IsValid() {
			ep.GlobalIPv6Address, ep.GlobalIPv6PrefixLen, ep.IPv6Gateway = at.IP6.String(), at.Subnet6.Bits(), at.Gateway6.String()
		}
		n.Networks[networkName(at)] = ep
	}
	// docker fills the top-level fields for the default bridge only.
	if ep := n.Networks[NetworkBridge]; ep != nil {
		n.IPAddress, n.IPPrefixLen, n.Gateway, n.MacAddress = ep.IPAddress, ep.IPPrefixLen, ep.Gateway, ep.MacAddress
	}
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
