package services

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/edgerun/edgerun/compose"
	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/health"
)

// The labels apply marks its containers with: which set and service a
// container is, and the digest of the service's definition it was made
// from (compose.Service.Digest), to tell a changed service from one that
// is not.
const (
	LabelProject = "io.edgerun.apply.project"
	LabelService = "io.edgerun.apply.service"
	LabelDigest  = "io.edgerun.apply.digest"
)

// runOptions are the run -d options of a service: the container is named
// after the service.
func runOptions(file, project string, s *compose.Service) (container.RunOptions, error) {
	bad := func(key, format string, args ...any) error {
		return &compose.Error{File: file, Line: s.Line, Path: "services." + s.Name + "." + key, Msg: fmt.Sprintf(format, args...), Err: compose.ErrInvalid}
	}
	o := container.RunOptions{Image: s.Image, Name: s.Name, Init: s.Init != nil && *s.Init}
	o.Spec.Env = s.Environment
	if s.EntrypointSet {
		ep := ""
		if len(s.Entrypoint) > 0 {
			ep = s.Entrypoint[0]
			o.Spec.Args = append(o.Spec.Args, s.Entrypoint[1:]...)
		}
		o.Spec.Entrypoint = &ep
	}
	if s.CommandSet {
		o.Spec.Args = append(o.Spec.Args, s.Command...)
	}
	o.Spec.User, o.Spec.Workdir, o.Spec.ReadOnly = s.User, s.WorkingDir, s.ReadOnly
	o.Spec.Tmpfs, o.Spec.Devices, o.Spec.CapAdd, o.Spec.CapDrop = s.Tmpfs, s.Devices, s.CapAdd, s.CapDrop
	o.Spec.StopSignal = s.StopSignal
	for _, m := range s.Volumes {
		if m.Type == "volume" && m.Source == "" {
			return o, bad("volumes", "%s is an anonymous volume, which edgerun does not keep: name it (NAME:%s) and declare it under volumes", m.Target, m.Target)
		}
		v := m.Source + ":" + m.Target
		if m.ReadOnly {
			v += ":ro"
		}
		o.Spec.Volumes = append(o.Spec.Volumes, v)
	}
	o.Net.Mode = s.NetworkMode
	if o.Net.Mode == "" {
		o.Net.Mode = container.NetworkBridge
	}
	for _, p := range s.Ports {
		o.Net.Publish = append(o.Net.Publish, p.String())
	}
	o.DetachOpts.Restart = s.Restart
	if s.LogMaxSize != "" {
		o.DetachOpts.LogOpts = append(o.DetachOpts.LogOpts, "max-size="+s.LogMaxSize)
	}
	if s.LogMaxFile > 0 {
		o.DetachOpts.LogOpts = append(o.DetachOpts.LogOpts, "max-file="+strconv.Itoa(s.LogMaxFile))
	}
	if s.MemLimit > 0 {
		o.Limits.Memory = strconv.FormatInt(s.MemLimit, 10)
	}
	if s.MemReservation > 0 {
		o.Limits.MemoryReservation = strconv.FormatInt(s.MemReservation, 10)
	}
	o.Limits.OOMKillDisable = s.OOMKillDisable
	if s.CPUs > 0 {
		o.Limits.CPUs = strconv.FormatFloat(s.CPUs, 'f', -1, 64)
	}
	if s.PidsLimit != 0 {
		o.Limits.PidsLimit = strconv.FormatInt(s.PidsLimit, 10)
	}
	if s.StopGracePeriod != nil {
		o.StopTimeout = *s.StopGracePeriod
	}
	if h := s.Health; h != nil {
		o.Health = health.Flags{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod,
			StartInterval: h.StartInterval, Retries: h.Retries, None: h.Disable}
		if h.Disable {
			o.Health = health.Flags{None: true}
		}
	}
	o.Labels = map[string]string{}
	for k, v := range s.Labels {
		if strings.HasPrefix(k, "io.edgerun.apply.") {
			return o, bad("labels", "%s is apply's own label: choose another key", k)
		}
		o.Labels[k] = v
	}
	o.Labels[LabelProject], o.Labels[LabelService], o.Labels[LabelDigest] = project, s.Name, s.Digest()
	return o, nil
}
