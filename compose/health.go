package compose

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// Health is a service's healthcheck.
type Health struct {
	// Test is docker's form: ["CMD", args...], ["CMD-SHELL", command] or
	// ["NONE"]; a string in the file becomes CMD-SHELL. Empty when only
	// timings are set (the image's test is kept).
	Test                                          []string
	Interval, Timeout, StartPeriod, StartInterval time.Duration // 0: not set
	Retries                                       int           // 0: not set
	Disable                                       bool          // disable: true or test NONE
}

func (p *parser) healthcheck(b *builder, e entry) error {
	entries, err := p.mapping(e.v, e.path)
	if err != nil {
		return err
	}
	h := &Health{}
	for _, he := range entries {
		if err := p.healthKey(h, he); err != nil {
			return err
		}
	}
	b.s.Health = h
	return nil
}

func (p *parser) healthKey(h *Health, e entry) (err error) {
	durations := map[string]*time.Duration{
		"interval": &h.Interval, "timeout": &h.Timeout,
		"start_period": &h.StartPeriod, "start_interval": &h.StartInterval,
	}
	if d, ok := durations[e.key]; ok {
		*d, err = p.duration(e.v, e.path)
		return err
	}
	switch e.key {
	case "test":
		return p.healthTest(h, e)
	case "retries":
		n, err := p.integer(e.v, e.path, 0)
		if err == nil && n > 1<<20 {
			return p.invalid(e.v, e.path, "want at most %d retries, got %d", 1<<20, n)
		}
		h.Retries = int(n)
		return err
	case "disable":
		h.Disable, err = p.boolean(e.v, e.path)
		return err
	}
	return p.errAt(e.k, e.path, ErrUnsupported,
		"not supported by edgerun apply (supported keys: disable, interval, retries, start_interval, start_period, test, timeout)")
}

func (p *parser) healthTest(h *Health, e entry) error {
	if deref(e.v).Kind == yaml.ScalarNode {
		s, err := p.scalar(e.v, e.path, "a string or a list like [CMD, curl, -f, http://localhost]")
		h.Test = []string{"CMD-SHELL", s}
		return err
	}
	test, err := p.list(e.v, e.path)
	if err != nil {
		return err
	}
	switch {
	case len(test) == 1 && test[0] == "NONE":
		h.Disable = true
	case len(test) >= 2 && test[0] == "CMD":
	case len(test) == 2 && test[0] == "CMD-SHELL":
	default:
		return p.invalid(e.v, e.path, `want [CMD, program, args...], [CMD-SHELL, "command"] or [NONE], got %q`, test)
	}
	h.Test = test
	return nil
}

// Dependency is one entry of depends_on.
type Dependency struct {
	Service   string
	Condition string // service_started or service_healthy
	line      int
	path      string
}

func (p *parser) dependsOn(b *builder, e entry) error {
	d := deref(e.v)
	if d.Kind == yaml.SequenceNode {
		names, err := p.list(e.v, e.path)
		for i, name := range names {
			b.s.DependsOn = append(b.s.DependsOn, Dependency{Service: name, Condition: "service_started",
				line: deref(d.Content[i]).Line, path: index(e.path, i)})
		}
		return err
	}
	if d.Kind != yaml.MappingNode {
		return p.want(e.v, e.path, "a list of services or a map of service: {condition: ...}")
	}
	entries, err := p.mapping(e.v, e.path)
	if err != nil {
		return err
	}
	for _, de := range entries {
		dep, err := p.dependency(de)
		if err != nil {
			return err
		}
		b.s.DependsOn = append(b.s.DependsOn, dep)
	}
	return nil
}

func (p *parser) dependency(e entry) (Dependency, error) {
	dep := Dependency{Service: e.key, Condition: "service_started", line: e.k.Line, path: e.path}
	if d := deref(e.v); d.Kind == yaml.ScalarNode && d.Tag == "!!null" {
		return dep, nil
	}
	entries, err := p.mapping(e.v, e.path)
	if err != nil {
		return dep, err
	}
	for _, c := range entries {
		if c.key != "condition" {
			return dep, p.errAt(c.k, c.path, ErrUnsupported, "not supported by edgerun apply (supported keys: condition)")
		}
		if dep.Condition, err = p.str(c.v, c.path); err != nil {
			return dep, err
		}
		switch dep.Condition {
		case "service_started", "service_healthy":
		case "service_completed_successfully":
			return dep, p.errAt(c.v, c.path, ErrUnsupported, "service_completed_successfully is not supported by edgerun apply (apply starts long-running services): want service_started or service_healthy")
		default:
			return dep, p.invalid(c.v, c.path, "want service_started or service_healthy, got %q", dep.Condition)
		}
	}
	return dep, nil
}
