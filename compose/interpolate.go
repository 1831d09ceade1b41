package compose

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// interpolate replaces variables in a string value the way Compose does:
// $VAR and ${VAR} take the caller's environment, ${VAR:-default} and
// ${VAR-default} fall back when VAR is unset or empty (:-) or unset (-),
// ${VAR:?message} and ${VAR?message} refuse the file, ${VAR:+other} and
// ${VAR+other} give other when VAR is set, and $$ is a literal $. A
// variable that is unset with no default becomes "" with a warning, as in
// Compose. Defaults are taken literally (no nested variables).
func (p *parser) interpolate(s string, n *yaml.Node, path string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch c := s[i+1]; {
		case c == '$':
			b.WriteByte('$')
			i++
		case c == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", p.invalid(n, path, "unclosed ${ in %q (write $$ for a literal $)", s)
			}
			v, err := p.braced(s[i+2:i+2+end], n, path)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i += 2 + end
		case isNameByte(c, true):
			j := i + 1
			for j < len(s) && isNameByte(s[j], false) {
				j++
			}
			b.WriteString(p.variable(s[i+1:j], n, path))
			i = j - 1
		default:
			b.WriteByte('$')
		}
	}
	return b.String(), nil
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

// variable is the value of a plain $VAR or ${VAR}.
func (p *parser) variable(name string, n *yaml.Node, path string) string {
	v, ok := p.get(name)
	if !ok {
		p.warnings = append(p.warnings, fmt.Sprintf("%s: %s: line %d: variable %s is not set: using \"\"", p.file, path, n.Line, name))
	}
	return v
}

func (p *parser) get(name string) (string, bool) {
	if p.lookup == nil {
		return "", false
	}
	return p.lookup(name)
}

// braced is the value of ${expr}.
func (p *parser) braced(expr string, n *yaml.Node, path string) (string, error) {
	j := 0
	for j < len(expr) && isNameByte(expr[j], j == 0) {
		j++
	}
	name, rest := expr[:j], expr[j:]
	if name == "" || strings.Contains(rest, "${") {
		return "", p.invalid(n, path, "bad variable ${%s}: want ${NAME}, ${NAME:-default}, ${NAME:?message} or ${NAME:+value}, without nesting (write $$ for a literal $)", expr)
	}
	if rest == "" {
		return p.variable(name, n, path), nil
	}
	v, set := p.get(name)
	colon := strings.HasPrefix(rest, ":")
	if colon {
		rest = rest[1:]
		set = set && v != ""
	}
	if rest == "" {
		return "", p.invalid(n, path, "bad variable ${%s}: want an operator -, ? or + after :", expr)
	}
	op, arg := rest[0], rest[1:]
	switch op {
	case '-':
		if !set {
			return arg, nil
		}
		return v, nil
	case '?':
		if !set {
			return "", p.invalid(n, path, "variable %s is required: %s", name, arg)
		}
		return v, nil
	case '+':
		if set {
			return arg, nil
		}
		return "", nil
	}
	return "", p.invalid(n, path, "bad variable ${%s}: unknown operator %q", expr, op)
}
