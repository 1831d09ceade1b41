package compose

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// pair is one KEY=VALUE of a map or list; unset is a bare KEY (or a null).
type pair struct {
	key, value string
	unset      bool
	n          *yaml.Node
	path       string
}

// pairs reads a map of KEY: VALUE, or a list of KEY=VALUE or KEY.
func (p *parser) pairs(e entry) ([]pair, error) {
	d := deref(e.v)
	if d.Kind == yaml.SequenceNode {
		out := make([]pair, 0, len(d.Content))
		for i, item := range d.Content {
			s, err := p.scalar(item, index(e.path, i), `a string like "KEY=VALUE"`)
			if err != nil {
				return nil, err
			}
			k, v, ok := strings.Cut(s, "=")
			out = append(out, pair{key: k, value: v, unset: !ok, n: deref(item), path: index(e.path, i)})
		}
		return out, nil
	}
	if d.Kind != yaml.MappingNode {
		return nil, p.want(e.v, e.path, `a map or a list of "KEY=VALUE"`)
	}
	entries, err := p.mapping(e.v, e.path)
	if err != nil {
		return nil, err
	}
	out := make([]pair, 0, len(entries))
	for _, m := range entries {
		pr := pair{key: m.key, n: m.k, path: m.path}
		switch v := deref(m.v); {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
			pr.unset = true
		case v.Kind == yaml.ScalarNode && v.Tag == "!!bool":
			pr.value = v.Value
		default:
			if pr.value, err = p.scalar(m.v, m.path, "a string, number or boolean"); err != nil {
				return nil, err
			}
		}
		out = append(out, pr)
	}
	return out, nil
}

// validEnvKey refuses what cannot be an environment variable's name.
var validEnvKey = regexp.MustCompile(`^[^=\x00\s]+$`)

func (p *parser) environment(b *builder, e entry) error {
	prs, err := p.pairs(e)
	if err != nil {
		return err
	}
	for _, pr := range prs {
		if !validEnvKey.MatchString(pr.key) {
			return p.invalid(pr.n, pr.path, "want an environment variable name, got %q", pr.key)
		}
		if _, dup := b.env[pr.key]; dup {
			return p.invalid(pr.n, pr.path, "variable %s is set twice", pr.key)
		}
		if pr.unset {
			v, ok := p.get(pr.key)
			if !ok {
				continue // Compose leaves it out
			}
			pr.value = v
		}
		b.env[pr.key] = pr.value
	}
	return nil
}

func (p *parser) labels(b *builder, e entry) error {
	prs, err := p.pairs(e)
	if err != nil {
		return err
	}
	b.s.Labels = make(map[string]string, len(prs))
	for _, pr := range prs {
		if pr.key == "" {
			return p.invalid(pr.n, pr.path, "empty label name")
		}
		if _, dup := b.s.Labels[pr.key]; dup {
			return p.invalid(pr.n, pr.path, "label %s is set twice", pr.key)
		}
		b.s.Labels[pr.key] = pr.value
	}
	return nil
}

// envFiles reads env_file: a path or a list of paths, relative to the
// service file's directory; a later file wins over an earlier one.
func (p *parser) envFiles(b *builder, e entry) error {
	items, err := p.items(e.v, e.path, true)
	if err != nil {
		return p.want(e.v, e.path, "a path or a list of paths")
	}
	for i, item := range items {
		path := e.path
		if deref(e.v).Kind == yaml.SequenceNode {
			path = index(e.path, i)
		}
		name, err := p.str(item, path)
		if err != nil {
			return err
		}
		if err := p.envFile(b, p.resolve(name), item, path); err != nil {
			return err
		}
	}
	return nil
}

// resolve makes a path of the file absolute against its directory.
func (p *parser) resolve(name string) string {
	if filepath.IsAbs(name) {
		return filepath.Clean(name)
	}
	return filepath.Join(p.dir, name)
}

// envFile reads KEY=VALUE lines: blank lines and # comments are skipped,
// a leading "export " is dropped, a value in matching quotes loses them,
// and a bare KEY takes the caller's value.
func (p *parser) envFile(b *builder, file string, n *yaml.Node, path string) error {
	// A FIFO or device would block or never end: only files are read.
	if fi, err := os.Stat(file); err != nil || !fi.Mode().IsRegular() {
		if err == nil {
			err = fmt.Errorf("%s is not a regular file", file)
		}
		return p.invalid(n, path, "env file: %v", err)
	}
	f, err := os.Open(file)
	if err != nil {
		return p.invalid(n, path, "env file: %v", err)
	}
	defer func() { _ = f.Close() }()
	data, err := readCapped(f, file)
	if err != nil {
		return p.invalid(n, path, "env file: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), MaxFileSize)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(text, "export "), "=")
		k = strings.TrimSpace(k)
		if !validEnvKey.MatchString(k) {
			return p.invalid(n, path, "env file %s: line %d: want KEY=VALUE, got %q", file, line, text)
		}
		if !ok {
			if v, ok = p.get(k); !ok {
				continue
			}
		} else {
			v = unquote(strings.TrimSpace(v))
		}
		b.fileEnv[k] = v
	}
	if err := sc.Err(); err != nil {
		return p.invalid(n, path, "env file %s: %v", file, err)
	}
	return nil
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}
