package compose

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Mount is one entry of a service's volumes.
type Mount struct {
	Type     string // "bind" or "volume"
	Source   string // bind: an absolute host path; volume: the name in the file ("" anonymous)
	Target   string // absolute path in the container
	ReadOnly bool
}

// validVolume is Compose's rule for volume names.
var validVolume = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// topVolumes reads the top-level volumes: names mapped to null or {}.
func (p *parser) topVolumes(e entry) ([]string, error) {
	entries, err := p.mapping(e.v, e.path)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, v := range entries {
		if !validVolume.MatchString(v.key) {
			return nil, p.invalid(v.k, v.path, "volume name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", v.key)
		}
		d := deref(v.v)
		switch {
		case d.Kind == yaml.ScalarNode && d.Tag == "!!null":
		case d.Kind == yaml.MappingNode && len(d.Content) == 0:
		case d.Kind == yaml.MappingNode:
			k := deref(d.Content[0])
			return nil, p.errAt(k, child(v.path, k.Value), ErrUnsupported,
				"not supported by edgerun apply: a named volume is a local directory edgerun makes; write the volume as %s: {} (or a bind mount)", v.key)
		default:
			return nil, p.want(v.v, v.path, "null or {}")
		}
		p.volumes[v.key] = true
		names = append(names, v.key)
	}
	slices.Sort(names)
	return names, nil
}

func (p *parser) mounts(b *builder, e entry) error {
	items, err := p.items(e.v, e.path, false)
	if err != nil {
		return err
	}
	for i, item := range items {
		path := index(e.path, i)
		var m Mount
		if deref(item).Kind == yaml.MappingNode {
			m, err = p.longMount(item, path)
		} else {
			m, err = p.shortMount(item, path)
		}
		if err != nil {
			return err
		}
		b.s.Volumes = append(b.s.Volumes, m)
	}
	return nil
}

// shortMount reads SOURCE:TARGET[:MODE] or an anonymous volume's TARGET.
func (p *parser) shortMount(n *yaml.Node, path string) (Mount, error) {
	s, err := p.scalar(n, path, `a string like "data:/var/lib/app" or "./conf:/etc/app:ro"`)
	if err != nil {
		return Mount{}, err
	}
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return Mount{}, p.invalid(n, path, "want SOURCE:TARGET[:ro], got %q", s)
	}
	if len(parts) == 1 {
		parts = []string{"", parts[0]}
	}
	m := Mount{Type: "volume", Source: parts[0], Target: parts[1]}
	if len(parts) == 3 {
		for _, opt := range strings.Split(parts[2], ",") {
			switch opt {
			case "ro":
				m.ReadOnly = true
			case "rw", "z", "Z", "cached", "delegated", "consistent":
			default:
				return Mount{}, p.errAt(n, path, ErrUnsupported, "volume option %q is not supported by edgerun apply: want ro or rw", opt)
			}
		}
	}
	if isPath(m.Source) {
		m.Type = "bind"
	}
	return p.checkMount(m, n, path)
}

// isPath says whether a short volume's source is a host path.
func isPath(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "~")
}

// checkMount resolves a bind's source and checks a volume's name.
func (p *parser) checkMount(m Mount, n *yaml.Node, path string) (Mount, error) {
	if !strings.HasPrefix(m.Target, "/") {
		return Mount{}, p.invalid(n, path, "the target must be an absolute path in the container, got %q", m.Target)
	}
	m.Target = filepath.Clean(m.Target)
	switch {
	case m.Type == "bind" && strings.HasPrefix(m.Source, "~"):
		home, ok := p.get("HOME")
		if !ok || (m.Source != "~" && !strings.HasPrefix(m.Source, "~/")) {
			return Mount{}, p.invalid(n, path, "cannot resolve %q: write an absolute path", m.Source)
		}
		m.Source = filepath.Join(home, m.Source[1:])
	case m.Type == "bind":
		if m.Source == "" {
			return Mount{}, p.invalid(n, path, "a bind mount needs a source path")
		}
		m.Source = p.resolve(m.Source)
	case m.Source != "" && !p.volumes[m.Source]:
		return Mount{}, p.invalid(n, path, "volume %q is not declared in the top-level volumes: add volumes: {%s: {}} (or write ./%s for a directory beside the file)", m.Source, m.Source, m.Source)
	}
	return m, nil
}

// longMount reads {type, source, target, read_only}.
func (p *parser) longMount(n *yaml.Node, path string) (Mount, error) {
	entries, err := p.mapping(n, path)
	if err != nil {
		return Mount{}, err
	}
	var m Mount
	for _, e := range entries {
		var err error
		switch e.key {
		case "type":
			m.Type, err = p.str(e.v, e.path)
			if err == nil && m.Type != "bind" && m.Type != "volume" {
				err = p.errAt(e.v, e.path, ErrUnsupported, "volume type %q is not supported by edgerun apply: want bind or volume (tmpfs: use the service's tmpfs)", m.Type)
			}
		case "source":
			m.Source, err = p.str(e.v, e.path)
		case "target":
			m.Target, err = p.str(e.v, e.path)
		case "read_only":
			m.ReadOnly, err = p.boolean(e.v, e.path)
		default:
			err = p.errAt(e.k, e.path, ErrUnsupported, "not supported by edgerun apply (supported keys: read_only, source, target, type)")
		}
		if err != nil {
			return Mount{}, err
		}
	}
	if m.Type == "" {
		return Mount{}, p.invalid(n, child(path, "type"), "missing: want bind or volume")
	}
	return p.checkMount(m, n, path)
}

// devices reads docker's --device forms: /dev/x[:/dev/y[:rwm]].
func (p *parser) devices(b *builder, e entry) (err error) {
	if b.s.Devices, err = p.list(e.v, e.path); err != nil {
		return err
	}
	for i, d := range b.s.Devices {
		if !validDevice(d) {
			return p.invalid(deref(e.v).Content[i], index(e.path, i), `want a device like "/dev/ttyUSB0" or "/dev/ttyUSB0:/dev/ttyS0:rw", got %q`, d)
		}
	}
	return nil
}

func validDevice(d string) bool {
	parts := strings.Split(d, ":")
	if len(parts) > 3 || !strings.HasPrefix(parts[0], "/") {
		return false
	}
	if len(parts) >= 2 && !strings.HasPrefix(parts[1], "/") {
		// docker also takes /dev/x:rwm
		return len(parts) == 2 && validPerms(parts[1])
	}
	return len(parts) < 3 || validPerms(parts[2])
}

func validPerms(s string) bool {
	return s != "" && len(s) <= 3 && strings.Trim(s, "rwm") == ""
}
