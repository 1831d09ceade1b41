package compose

import (
	"fmt"
	"strings"
)

// check holds the rules across services: depends_on names services of
// the file without a cycle, and no host port is published twice.
func (p *parser) check(proj *Project) error {
	byName := make(map[string]*Service, len(proj.Services))
	for _, s := range proj.Services {
		byName[s.Name] = s
	}
	for _, s := range proj.Services {
		seen := map[string]bool{}
		for _, d := range s.DependsOn {
			switch {
			case d.Service == s.Name:
				return p.lineErr(d.line, d.path, "service %s depends on itself", s.Name)
			case byName[d.Service] == nil:
				return p.lineErr(d.line, d.path, "unknown service %q (the file's services: %s)", d.Service, names(proj.Services))
			case seen[d.Service]:
				return p.lineErr(d.line, d.path, "service %q is listed twice", d.Service)
			}
			seen[d.Service] = true
		}
	}
	if err := p.checkCycles(proj.Services, byName); err != nil {
		return err
	}
	return p.checkPorts(proj.Services)
}

func (p *parser) lineErr(line int, path, format string, args ...any) error {
	return &Error{File: p.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...), Err: ErrInvalid}
}

func names(services []*Service) string {
	out := make([]string, len(services))
	for i, s := range services {
		out[i] = s.Name
	}
	return strings.Join(out, ", ")
}

// checkCycles walks depends_on depth first, in file order, and names the
// first cycle it meets.
func (p *parser) checkCycles(services []*Service, byName map[string]*Service) error {
	const (
		unseen = iota
		onStack
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(s *Service) error
	visit = func(s *Service) error {
		state[s.Name] = onStack
		stack = append(stack, s.Name)
		for _, d := range s.DependsOn {
			switch state[d.Service] {
			case onStack:
				i := indexOf(stack, d.Service)
				cycle := append(append([]string{}, stack[i:]...), d.Service)
				return p.lineErr(d.line, d.path, "depends_on cycle: %s", strings.Join(cycle, " -> "))
			case unseen:
				if err := visit(byName[d.Service]); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[s.Name] = done
		return nil
	}
	for _, s := range services {
		if state[s.Name] == unseen {
			if err := visit(s); err != nil {
				return err
			}
		}
	}
	return nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// checkPorts refuses a host port published twice on overlapping
// addresses (the same address, or one of them every address).
func (p *parser) checkPorts(services []*Service) error {
	type owner struct {
		service string
		port    Port
	}
	byPort := map[string][]owner{}
	for _, s := range services {
		for _, pt := range s.Ports {
			if pt.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%d/%s", pt.HostPort, pt.Proto)
			for _, o := range byPort[key] {
				if overlaps(o.port.HostIP, pt.HostIP) {
					return p.lineErr(pt.line, pt.path, "host port %s is published twice: also by %s (line %d)",
						pt.String(), o.port.path, o.port.line)
				}
			}
			byPort[key] = append(byPort[key], owner{s.Name, pt})
		}
	}
	return nil
}

func overlaps(a, b string) bool {
	any := func(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }
	return a == b || any(a) || any(b)
}

// Order returns the services in the order to start them: every service
// after the services it depends on, and otherwise in file order. It fails
// on a dependency cycle or an unknown service (which Parse refuses).
func (p *Project) Order() ([]*Service, error) {
	placed := make(map[string]bool, len(p.Services))
	known := make(map[string]bool, len(p.Services))
	for _, s := range p.Services {
		known[s.Name] = true
	}
	out := make([]*Service, 0, len(p.Services))
	for len(out) < len(p.Services) {
		next := -1
		for i, s := range p.Services {
			if !placed[s.Name] && ready(s, placed, known) {
				next = i
				break
			}
		}
		if next < 0 {
			return nil, fmt.Errorf("order services: %w: depends_on names an unknown service or has a cycle", ErrInvalid)
		}
		placed[p.Services[next].Name] = true
		out = append(out, p.Services[next])
	}
	return out, nil
}

func ready(s *Service, placed, known map[string]bool) bool {
	for _, d := range s.DependsOn {
		if !placed[d.Service] || !known[d.Service] {
			return false
		}
	}
	return true
}
