package compose

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parser holds what one Parse call reads and collects.
type parser struct {
	file     string                      // the file's name, for errors
	dir      string                      // relative paths are resolved against it
	lookup   func(string) (string, bool) // the caller's environment
	warnings []string
	volumes  map[string]bool // the top-level named volumes
}

// entry is one key of a mapping, its value and its key path.
type entry struct {
	key  string
	k, v *yaml.Node
	path string
}

func (p *parser) errAt(n *yaml.Node, path string, kind error, format string, args ...any) error {
	e := &Error{File: p.file, Path: path, Msg: fmt.Sprintf(format, args...), Err: kind}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// invalid is an Error of kind ErrInvalid at node n.
func (p *parser) invalid(n *yaml.Node, path, format string, args ...any) error {
	return p.errAt(n, path, ErrInvalid, format, args...)
}

// want is the error of a value of the wrong type.
func (p *parser) want(n *yaml.Node, path, what string) error {
	return p.invalid(n, path, "want %s, got %s", what, kindName(n))
}

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// kindName says what a node is, for errors.
func kindName(n *yaml.Node) string {
	n = deref(n)
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a map"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "null"
	case n.Tag == "!!bool":
		return "a boolean"
	case n.Tag == "!!int" || n.Tag == "!!float":
		return "a number"
	case n.Tag == "!!str":
		return "a string"
	}
	return "a value tagged " + n.Tag
}

func child(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// mapping returns the keys of a map in file order, with YAML merge keys
// (<<) applied: a key written in the map wins over a merged one, and an
// earlier merged map over a later one. A key written twice is refused.
func (p *parser) mapping(n *yaml.Node, path string) ([]entry, error) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, p.want(n, path, "a map")
	}
	var out, merged []entry
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			return nil, p.invalid(k, path, "want a string key, got %s", kindName(k))
		}
		if k.Tag == "!!merge" {
			m, err := p.mergeSources(v, path)
			if err != nil {
				return nil, err
			}
			merged = append(merged, m...)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			return nil, p.invalid(k, child(path, k.Value), "duplicate key %q (first at line %d)", k.Value, first.Line)
		}
		seen[k.Value] = k
		out = append(out, entry{key: k.Value, k: k, v: v, path: child(path, k.Value)})
	}
	for _, e := range merged {
		if _, ok := seen[e.key]; !ok {
			seen[e.key] = e.k
			out = append(out, e)
		}
	}
	return out, nil
}

// mergeSources reads the value of a merge key: a map or a list of maps.
func (p *parser) mergeSources(v *yaml.Node, path string) ([]entry, error) {
	v = deref(v)
	if v.Kind != yaml.SequenceNode {
		return p.mapping(v, path)
	}
	var out []entry
	for _, item := range v.Content {
		if deref(item).Kind != yaml.MappingNode {
			return nil, p.want(item, child(path, "<<"), "a map to merge")
		}
		m, err := p.mapping(item, path)
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	return out, nil
}

// scalar returns the text of a string or number, interpolated. what
// describes the value wanted, for the error.
func (p *parser) scalar(n *yaml.Node, path, what string) (string, error) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		return "", p.want(n, path, what)
	}
	switch n.Tag {
	case "!!str":
		return p.interpolate(n.Value, n, path)
	case "!!int", "!!float":
		return n.Value, nil
	}
	return "", p.want(n, path, what)
}

// str is scalar for a plain string value.
func (p *parser) str(n *yaml.Node, path string) (string, error) {
	return p.scalar(n, path, "a string")
}

func (p *parser) boolean(n *yaml.Node, path string) (bool, error) {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!bool" || n.Tag == "!!str") {
		s, err := p.interpolate(n.Value, n, path)
		if err != nil {
			return false, err
		}
		switch strings.ToLower(s) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, p.want(n, path, "true or false")
}

// integer reads a whole number (written as a number or a string).
func (p *parser) integer(n *yaml.Node, path string, lowest int64) (int64, error) {
	s, err := p.scalar(n, path, "a whole number")
	if err != nil {
		return 0, err
	}
	x, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
	if err != nil {
		return 0, p.invalid(n, path, "want a whole number, got %q", s)
	}
	if x < lowest {
		return 0, p.invalid(n, path, "want a whole number of at least %d, got %d", lowest, x)
	}
	return x, nil
}

// stringOrList reads a string (as a list of one) or a list of strings.
func (p *parser) stringOrList(n *yaml.Node, path string) ([]string, error) {
	if d := deref(n); d.Kind == yaml.ScalarNode {
		s, err := p.scalar(n, path, "a string or a list of strings")
		return []string{s}, err
	}
	return p.list(n, path)
}

// list reads a list of strings.
func (p *parser) list(n *yaml.Node, path string) ([]string, error) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		return nil, p.want(n, path, "a list of strings")
	}
	out := make([]string, 0, len(n.Content))
	for i, item := range n.Content {
		s, err := p.str(item, index(path, i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// items returns the elements of a list, or of a single value as a list
// of one when single is set.
func (p *parser) items(n *yaml.Node, path string, single bool) ([]*yaml.Node, error) {
	d := deref(n)
	if d.Kind == yaml.SequenceNode {
		return d.Content, nil
	}
	if single && d.Kind == yaml.ScalarNode {
		return []*yaml.Node{d}, nil
	}
	return nil, p.want(n, path, "a list")
}
