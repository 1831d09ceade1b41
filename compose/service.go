package compose

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/edgerun/edgerun/internal/ids"
	"go.yaml.in/yaml/v3"
)

// Service is one entry of services, normalised.
type Service struct {
	Name string
	Line int // the line of the service's name in the file

	Image string
	// Command and Entrypoint replace the image's when CommandSet and
	// EntrypointSet are true (an empty list then clears it). A string is
	// split into words as a POSIX shell would, without expansion.
	Command, Entrypoint       []string
	CommandSet, EntrypointSet bool
	// Environment is KEY=VALUE, sorted by key: env_file first, then
	// environment over it; a bare KEY took the caller's value (and is left
	// out when the caller has none, as in Compose).
	Environment []string
	Ports       []Port
	Volumes     []Mount
	Devices     []string // docker's --device form: /dev/x[:/dev/y[:rwm]]
	Restart     string   // "", no, always, unless-stopped, on-failure or on-failure:N
	Health      *Health  // nil: the image's healthcheck
	DependsOn   []Dependency
	User        string
	WorkingDir  string
	ReadOnly    bool
	Tmpfs       []string // /path or /path:options
	CapAdd      []string
	CapDrop     []string
	MemLimit    int64   // bytes, 0: no limit
	CPUs        float64 // 0: no limit
	PidsLimit   int64   // 0: not set, -1: unlimited
	NetworkMode string  // "", bridge, host or none
	Labels      map[string]string
	StopSignal  string
	// StopGracePeriod and Init are nil when the file does not set them.
	StopGracePeriod *time.Duration
	Init            *bool
	LogMaxSize      string // the json-file max-size option, like "10m"
	LogMaxFile      int    // the json-file max-file option, 0: not set

	// MemReservation (bytes, 0: none) and OOMKillDisable are left out of
	// the digest's JSON when unset, so that services which do not use
	// them keep the digest they had before these keys existed (a changed
	// digest replaces the container).
	MemReservation int64 `json:",omitempty"`
	OOMKillDisable bool  `json:",omitempty"`
}

// builder is the state of one service while its keys are read.
type builder struct {
	s            *Service
	env, fileEnv map[string]string
	// reservation is the mem_reservation entry, checked against mem_limit
	// once both are read.
	reservation entry
}

// field reads one key of a service.
type field func(p *parser, b *builder, e entry) error

// fields are the supported keys of a service.
var fields = map[string]field{
	"image":       (*parser).image,
	"command":     (*parser).command,
	"entrypoint":  (*parser).entrypoint,
	"environment": (*parser).environment,
	"env_file":    (*parser).envFiles,
	"ports":       (*parser).ports,
	"volumes":     (*parser).mounts,
	"devices":     (*parser).devices,
	"restart":     (*parser).restart,
	"healthcheck": (*parser).healthcheck,
	"depends_on":  (*parser).dependsOn,
	"user":        func(p *parser, b *builder, e entry) (err error) { b.s.User, err = p.str(e.v, e.path); return },
	"working_dir": (*parser).workingDir,
	"read_only":   func(p *parser, b *builder, e entry) (err error) { b.s.ReadOnly, err = p.boolean(e.v, e.path); return },
	"tmpfs":       (*parser).tmpfs,
	"cap_add":     func(p *parser, b *builder, e entry) (err error) { b.s.CapAdd, err = p.caps(e); return },
	"cap_drop":    func(p *parser, b *builder, e entry) (err error) { b.s.CapDrop, err = p.caps(e); return },
	"mem_limit":   (*parser).memLimit,
	"cpus":        (*parser).cpus,
	"pids_limit": func(p *parser, b *builder, e entry) (err error) {
		b.s.PidsLimit, err = p.integer(e.v, e.path, -1)
		return
	},
	"network_mode":      (*parser).networkMode,
	"labels":            (*parser).labels,
	"stop_signal":       (*parser).stopSignal,
	"stop_grace_period": (*parser).stopGrace,
	"init":              (*parser).initFlag,
	"logging":           (*parser).logging,
	"mem_reservation":   (*parser).memReservation,
	"oom_kill_disable":  (*parser).oomKillDisable,
}

func serviceKeys() string {
	return strings.Join(slices.Sorted(maps.Keys(fields)), ", ") + ", x-*"
}

func (p *parser) services(e entry) ([]*Service, error) {
	entries, err := p.mapping(e.v, e.path)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, p.invalid(e.v, e.path, "no services: want at least one")
	}
	out := make([]*Service, 0, len(entries))
	for _, se := range entries {
		if err := ids.CheckName(se.key); err != nil {
			return nil, p.invalid(se.k, se.path, "service name: %v", err)
		}
		s, err := p.service(se)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (p *parser) service(se entry) (*Service, error) {
	entries, err := p.mapping(se.v, se.path)
	if err != nil {
		return nil, err
	}
	b := &builder{s: &Service{Name: se.key, Line: se.k.Line}, env: map[string]string{}, fileEnv: map[string]string{}}
	for _, e := range entries {
		f, ok := fields[e.key]
		if !ok {
			if strings.HasPrefix(e.key, "x-") {
				continue
			}
			return nil, p.errAt(e.k, e.path, ErrUnsupported, "not supported by edgerun apply (supported keys: %s)", serviceKeys())
		}
		if err := f(p, b, e); err != nil {
			return nil, err
		}
	}
	if err := p.checkReservation(b); err != nil {
		return nil, err
	}
	if b.s.Image == "" {
		return nil, p.invalid(se.k, child(se.path, "image"), "missing: every service needs an image (edgerun apply does not build)")
	}
	maps.Copy(b.fileEnv, b.env)
	for _, k := range slices.Sorted(maps.Keys(b.fileEnv)) {
		b.s.Environment = append(b.s.Environment, k+"="+b.fileEnv[k])
	}
	return b.s, nil
}

func (p *parser) image(b *builder, e entry) (err error) {
	if b.s.Image, err = p.str(e.v, e.path); err != nil {
		return err
	}
	if b.s.Image == "" || strings.ContainsAny(b.s.Image, " \t\n") {
		return p.invalid(e.v, e.path, "want an image reference like alpine:3.20, got %q", b.s.Image)
	}
	return nil
}

func (p *parser) command(b *builder, e entry) (err error) {
	b.s.Command, err = p.commandLine(e)
	b.s.CommandSet = err == nil
	return err
}

func (p *parser) entrypoint(b *builder, e entry) (err error) {
	b.s.Entrypoint, err = p.commandLine(e)
	b.s.EntrypointSet = err == nil
	return err
}

// commandLine reads a list of words, or a string split into words.
func (p *parser) commandLine(e entry) ([]string, error) {
	if d := deref(e.v); d.Kind == yaml.ScalarNode {
		s, err := p.scalar(e.v, e.path, "a string or a list of strings")
		if err != nil {
			return nil, err
		}
		words, err := splitWords(s)
		if err != nil {
			return nil, p.invalid(e.v, e.path, "%v", err)
		}
		return words, nil
	}
	return p.list(e.v, e.path)
}

func (p *parser) workingDir(b *builder, e entry) (err error) {
	if b.s.WorkingDir, err = p.str(e.v, e.path); err != nil {
		return err
	}
	if !strings.HasPrefix(b.s.WorkingDir, "/") {
		return p.invalid(e.v, e.path, "want an absolute path, got %q", b.s.WorkingDir)
	}
	return nil
}

func (p *parser) initFlag(b *builder, e entry) error {
	v, err := p.boolean(e.v, e.path)
	b.s.Init = &v
	return err
}
