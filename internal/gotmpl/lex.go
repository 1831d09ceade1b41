package gotmpl

import (
	"strconv"
	"strings"
)

type tokKind int

const (
	tokIdent   tokKind = iota // function or keyword
	tokField                  // .A.B, or . alone (text ".")
	tokVar                    // $ or $x, with any .A.B after it in fields
	tokString                 // value holds the unquoted string
	tokNumber                 // text holds the number
	tokPipe                   // |
	tokLeft                   // (
	tokRight                  // ) with any .A.B after it in fields
	tokDeclare                // :=
	tokAssign                 // =
	tokComma                  // ,
)

type token struct {
	kind   tokKind
	pos    int
	text   string
	value  string   // unquoted string
	fields []string // field chain after a variable or ")"
}

// lexAction reads the tokens of the action whose inside starts at pos, up
// to its }} (or -}}). It returns the tokens, where the text goes on, and
// whether the action trims the space after it.
func (p *parser) lexAction(pos int) ([]token, int, bool, error) {
	var toks []token
	i := pos
	for {
		if i >= len(p.text) {
			return nil, 0, false, p.errorf(pos, "unclosed action")
		}
		c := p.text[i]
		switch {
		case strings.HasPrefix(p.text[i:], "}}"):
			return toks, i + 2, false, nil
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if strings.HasPrefix(p.text[i+1:], "-}}") {
				return toks, i + 4, true, nil
			}
			i++
		case c == '|':
			toks = append(toks, token{kind: tokPipe, pos: i, text: "|"})
			i++
		case c == '(':
			toks = append(toks, token{kind: tokLeft, pos: i, text: "("})
			i++
		case c == ')':
			names, n, err := p.lexFields(i + 1)
			if err != nil {
				return nil, 0, false, err
			}
			toks = append(toks, token{kind: tokRight, pos: i, text: p.text[i:n], fields: names})
			i = n
		case c == ',':
			toks = append(toks, token{kind: tokComma, pos: i, text: ","})
			i++
		case c == ':' && strings.HasPrefix(p.text[i:], ":="):
			toks = append(toks, token{kind: tokDeclare, pos: i, text: ":="})
			i += 2
		case c == '=':
			toks = append(toks, token{kind: tokAssign, pos: i, text: "="})
			i++
		case c == '"' || c == '`':
			t, n, err := p.lexString(i)
			if err != nil {
				return nil, 0, false, err
			}
			toks = append(toks, t)
			i = n
		case c == '.' && (i+1 >= len(p.text) || !isDigit(p.text[i+1])):
			names, n, err := p.lexFields(i)
			if err != nil {
				return nil, 0, false, err
			}
			toks = append(toks, token{kind: tokField, pos: i, text: p.text[i:n], fields: names})
			i = n
		case c == '$':
			j := i + 1
			for j < len(p.text) && isAlnum(p.text[j]) {
				j++
			}
			names, n, err := p.lexFields(j)
			if err != nil {
				return nil, 0, false, err
			}
			toks = append(toks, token{kind: tokVar, pos: i, text: p.text[i:n], value: p.text[i:j], fields: names})
			i = n
		case isDigit(c) || c == '-' || c == '+' || c == '.':
			j := i + 1
			for j < len(p.text) && (isAlnum(p.text[j]) || p.text[j] == '.' || ((p.text[j] == '-' || p.text[j] == '+') && (p.text[j-1] == 'e' || p.text[j-1] == 'E'))) {
				j++
			}
			if _, err := strconv.ParseFloat(p.text[i:j], 64); err != nil {
				if _, err := strconv.ParseInt(p.text[i:j], 0, 64); err != nil {
					return nil, 0, false, p.errorf(i, "bad number syntax: %q", p.text[i:j])
				}
			}
			toks = append(toks, token{kind: tokNumber, pos: i, text: p.text[i:j]})
			i = j
		case isAlnum(c):
			j := i
			for j < len(p.text) && isAlnum(p.text[j]) {
				j++
			}
			toks = append(toks, token{kind: tokIdent, pos: i, text: p.text[i:j]})
			i = j
		default:
			return nil, 0, false, p.errorf(i, "unexpected %q in command", c)
		}
	}
}

// lexFields reads a chain of .Name starting at i ("." alone is dot).
func (p *parser) lexFields(i int) ([]string, int, error) {
	var names []string
	for i < len(p.text) && p.text[i] == '.' {
		j := i + 1
		for j < len(p.text) && isAlnum(p.text[j]) {
			j++
		}
		if j == i+1 {
			if names == nil && (j >= len(p.text) || !isAlnum(p.text[j])) {
				return nil, j, nil // dot itself
			}
			return nil, 0, p.errorf(i, "bad field name after %q", p.text[:j])
		}
		names = append(names, p.text[i+1:j])
		i = j
	}
	return names, i, nil
}

func (p *parser) lexString(i int) (token, int, error) {
	q := p.text[i]
	j := i + 1
	for j < len(p.text) && p.text[j] != q {
		if q == '"' && p.text[j] == '\\' {
			j++
		}
		if q == '"' && j < len(p.text) && p.text[j] == '\n' {
			break
		}
		j++
	}
	if j >= len(p.text) || p.text[j] != q {
		return token{}, 0, p.errorf(i, "unterminated quoted string")
	}
	raw := p.text[i : j+1]
	s, err := strconv.Unquote(raw)
	if err != nil {
		return token{}, 0, p.errorf(i, "bad string %s: %v", raw, err)
	}
	return token{kind: tokString, pos: i, text: raw, value: s}, j + 1, nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool {
	return c == '_' || isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c >= 0x80
}
