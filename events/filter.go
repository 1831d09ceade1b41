package events

import (
	"fmt"
	"slices"
	"strings"
)

// Filter is docker's `events --filter KEY=VALUE...`: values of one key are
// alternatives, different keys must all match, and every label given must
// match. The zero Filter (and nil) matches every event.
type Filter struct {
	vals map[string][]string
}

// FilterKeys are the keys a filter takes.
var FilterKeys = []string{"container", "event", "image", "label", "network", "scope", "type", "volume"}

// types are the values of type=: docker's, including those edgerun never
// records (their filter matches nothing).
var types = []string{"container", "image", "volume", "network", "daemon", "plugin", "service", "node", "secret", "config"}

// ParseFilter reads --filter arguments, KEY=VALUE each.
func ParseFilter(args []string) (*Filter, error) {
	f := &Filter{vals: map[string][]string{}}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || v == "" || !slices.Contains(FilterKeys, k) {
			return nil, fmt.Errorf("%w %q: use KEY=VALUE with KEY one of %s", ErrInvalidFilter, a, strings.Join(FilterKeys, ", "))
		}
		switch {
		case k == "type" && !slices.Contains(types, v):
			return nil, fmt.Errorf("%w %q: type is one of %s", ErrInvalidFilter, a, strings.Join(types, ", "))
		case k == "scope" && v != "local" && v != "swarm":
			return nil, fmt.Errorf("%w %q: scope is local or swarm", ErrInvalidFilter, a)
		}
		if !slices.Contains(f.vals[k], v) {
			f.vals[k] = append(f.vals[k], v)
		}
	}
	return f, nil
}

// Match says whether m passes the filter, by docker's rules
// (daemon/events/filter.go): container, volume and network values are
// IDs or names, or their prefixes, matched against any event's actor;
// image values are an image ID or name, with or without its tag, matched
// against an image event's actor and a container event's image.
func (f *Filter) Match(m Message) bool {
	if f == nil || len(f.vals) == 0 {
		return true
	}
	return f.matchEvent(m.Action) && f.exact("type", string(m.Type)) && f.exact("scope", m.Scope) &&
		f.fuzzyName("container", m) && f.fuzzyName("volume", m) && f.fuzzyName("network", m) &&
		f.matchImage(m) && f.matchLabels(m.Actor.Attributes)
}

// exact: no values for key, or source is one of them.
func (f *Filter) exact(key, source string) bool {
	vs := f.vals[key]
	return len(vs) == 0 || slices.Contains(vs, source)
}

// fuzzy: no values for key, or one of them is source or a prefix of it.
func (f *Filter) fuzzy(key, source string) bool {
	vs := f.vals[key]
	if len(vs) == 0 {
		return true
	}
	for _, v := range vs {
		if strings.HasPrefix(source, v) {
			return true
		}
	}
	return false
}

func (f *Filter) fuzzyName(key string, m Message) bool {
	return f.fuzzy(key, m.Actor.ID) || f.fuzzy(key, m.Actor.Attributes["name"])
}

// matchEvent compares actions exactly, unless a value is one of the
// actions that carry a detail (health_status: healthy): then by prefix,
// as docker does.
func (f *Filter) matchEvent(action string) bool {
	for _, v := range f.vals["event"] {
		switch v {
		case ActionHealthStatus, ActionExecCreate, ActionExecStart:
			return f.fuzzy("event", action)
		}
	}
	return f.exact("event", action)
}

func (f *Filter) matchImage(m Message) bool {
	attr := "image"
	if m.Type == Image {
		attr = "name"
	}
	name := m.Actor.Attributes[attr]
	return f.exact("image", m.Actor.ID) || f.exact("image", name) ||
		f.exact("image", stripTag(m.Actor.ID)) || f.exact("image", stripTag(name))
}

// matchLabels: every label value (KEY or KEY=VALUE) is in attrs.
func (f *Filter) matchLabels(attrs map[string]string) bool {
	for _, l := range f.vals["label"] {
		k, v, hasValue := strings.Cut(l, "=")
		got, ok := attrs[k]
		if !ok || hasValue && got != v {
			return false
		}
	}
	return true
}

// stripTag is an image reference's repository in docker's familiar form:
// without a digest or tag, and without docker.io/library/.
func stripTag(ref string) string {
	if strings.HasPrefix(ref, "sha256:") {
		return ref // an image ID
	}
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	ref = strings.TrimPrefix(ref, "index.docker.io/")
	ref = strings.TrimPrefix(ref, "docker.io/")
	return strings.TrimPrefix(ref, "library/")
}
