package compose

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

const (
	// MaxFileSize is the largest service file (and env_file) read, 1 MiB.
	MaxFileSize = 1 << 20
	// MaxNodes is the most values a file may hold once its YAML aliases
	// are expanded; a "billion laughs" file is refused by this count,
	// made without expanding anything.
	MaxNodes = 1 << 20
)

// Project is a parsed service file.
type Project struct {
	Name     string     // the top-level name, "" when absent (apply chooses)
	Services []*Service // in file order
	Volumes  []string   // the declared named volumes, sorted
	// Warnings are what Compose would warn about, like a variable that is
	// not set; the caller shows them.
	Warnings []string
}

// Load reads and parses the service file at path. Relative paths in it
// (bind mounts, env_file) are resolved against the file's directory;
// lookup gives the caller's environment (nil: nothing is set).
func Load(path string, lookup func(string) (string, bool)) (*Project, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read service file: %w", err)
	}
	defer func() { _ = f.Close() }()
	data, err := readCapped(f, path)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("read service file: %w", err)
	}
	return Parse(path, data, abs, lookup)
}

// readCapped reads at most MaxFileSize bytes and refuses more.
func readCapped(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(name)
	}
	return data, nil
}

func tooLarge(name string) error {
	return &Error{File: name, Err: ErrTooLarge,
		Msg: fmt.Sprintf("over %d bytes (%d MiB): a service file this big is refused", MaxFileSize, MaxFileSize>>20)}
}

// Parse parses a service file held in data; name is used in errors, dir
// resolves relative paths, and lookup gives the caller's environment
// (nil: nothing is set).
func Parse(name string, data []byte, dir string, lookup func(string) (string, bool)) (*Project, error) {
	if len(data) > MaxFileSize {
		return nil, tooLarge(name)
	}
	p := &parser{file: name, dir: dir, lookup: lookup, volumes: map[string]bool{}}
	root, err := p.decode(data)
	if err != nil {
		return nil, err
	}
	if err := p.checkSize(root); err != nil {
		return nil, err
	}
	proj, err := p.project(root)
	if err != nil {
		return nil, err
	}
	if err := p.check(proj); err != nil {
		return nil, err
	}
	proj.Warnings = p.warnings
	return proj, nil
}

// decode parses the YAML of data into one document's root node.
func (p *parser) decode(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: p.file, Err: ErrInvalid, Msg: "the file is empty: want a map with services"}
		}
		return nil, &Error{File: p.file, Err: ErrInvalid, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, p.invalid(&next, "", "the file holds more than one YAML document: want one")
	}
	if len(doc.Content) != 1 {
		return nil, p.invalid(&doc, "", "want a map with services")
	}
	return doc.Content[0], nil
}

// sizer counts the values of a tree with every alias expanded, without
// expanding: each node's count is computed once, and counts saturate
// past MaxNodes. An alias inside its own anchor's value is a cycle.
type sizer struct {
	memo  map[*yaml.Node]int64 // -1 while the node is being counted
	cycle *yaml.Node
}

func (z *sizer) size(n *yaml.Node) int64 {
	if n == nil {
		return 0
	}
	if n.Kind == yaml.AliasNode {
		return z.size(n.Alias)
	}
	if c, ok := z.memo[n]; ok {
		if c < 0 {
			z.cycle = n
			return MaxNodes + 1
		}
		return c
	}
	z.memo[n] = -1
	c := int64(1)
	for _, k := range n.Content {
		c += z.size(k)
		if c > MaxNodes {
			c = MaxNodes + 1
			break
		}
	}
	z.memo[n] = c
	return c
}

// checkSize refuses a tree that aliases make too large or cyclic.
func (p *parser) checkSize(root *yaml.Node) error {
	z := &sizer{memo: map[*yaml.Node]int64{}}
	n := z.size(root)
	if z.cycle != nil {
		return p.invalid(z.cycle, "", "a YAML alias refers to its own anchor: the value would contain itself")
	}
	if n > MaxNodes {
		return &Error{File: p.file, Err: ErrTooLarge,
			Msg: fmt.Sprintf("expands through YAML aliases to more than %d values (a YAML bomb?)", MaxNodes)}
	}
	return nil
}

// validProject is Compose's rule for project names.
var validProject = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

const topKeys = "name, services, version, volumes, x-*"

func (p *parser) project(root *yaml.Node) (*Project, error) {
	entries, err := p.mapping(root, "")
	if err != nil {
		return nil, err
	}
	proj := &Project{}
	var services *entry
	for i, e := range entries {
		switch {
		case e.key == "services":
			services = &entries[i]
		case e.key == "volumes":
			if proj.Volumes, err = p.topVolumes(e); err != nil {
				return nil, err
			}
		case e.key == "name":
			if proj.Name, err = p.str(e.v, e.path); err != nil {
				return nil, err
			}
			if !validProject.MatchString(proj.Name) {
				return nil, p.invalid(e.v, e.path, "project name %q: use lowercase letters, digits, '_' and '-', starting with a letter or digit", proj.Name)
			}
		case e.key == "version": // obsolete in Compose, which ignores it too
		case strings.HasPrefix(e.key, "x-"): // extension fields are the user's (anchors)
		default:
			return nil, p.errAt(e.k, e.path, ErrUnsupported, "not supported by edgerun apply (supported keys: %s)", topKeys)
		}
	}
	if services == nil {
		return nil, p.invalid(root, "services", "missing: want a map of services")
	}
	if proj.Services, err = p.services(*services); err != nil {
		return nil, err
	}
	return proj, nil
}
