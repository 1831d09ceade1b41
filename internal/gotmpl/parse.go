// Package gotmpl evaluates the subset of Go's text/template that docker's
// --format and inspect -f scripts use, over generic data: the JSON of a
// document decoded into map[string]any, []any, string, json.Number, bool
// and nil (see Data), so a field access is a map lookup.
//
// It exists because text/template reaches methods by name through reflect,
// which makes the Go linker keep every exported method of the binary
// (about 3 MB of edgerun's budget); this package uses no reflect.
//
// Supported: text, {{/* comments */}}, trim markers {{- and -}}, fields
// (.A.B, on dot, $, a variable or a parenthesized pipeline), string,
// number, true/false/nil literals, pipelines with |, variables ($x :=,
// $x =, range $i, $v :=), if/else if/else/end, range/else/end, with/else/end,
// and the functions of funcs.go: docker's json, join, lower, upper, title,
// split, truncate, pad, and Go's index, len, printf, print, println, not,
// and, or, eq, ne, lt, le, gt, ge. A missing map key is an error, as in
// docker's inspect (text/template's missingkey=error).
package gotmpl

import (
	"fmt"
	"strings"
)

// Template is a parsed template, safe for concurrent Execute calls.
type Template struct {
	text string
	root []node
	// missingNil: a map's missing key reads as nil (see MissingKeysAreNil).
	missingNil bool
}

// MissingKeysAreNil makes a key a map lacks read as nil (printed
// "<no value>"), as text/template does on a Go map by default, instead of
// the error "map has no entry for key" (text/template's missingkey=error,
// which docker's inspect uses on JSON documents). docker's events
// template reads a Go map: {{.Actor.Attributes.exitCode}} of a start.
func (t *Template) MissingKeysAreNil() *Template {
	t.missingNil = true
	return t
}

type node interface{}

type textNode string

// actionNode prints its pipeline's value (unless it declares variables).
type actionNode struct {
	pipe *pipeNode
}

// controlNode is if, range or with.
type controlNode struct {
	kind     string
	pipe     *pipeNode
	list     []node
	elseList []node
}

type pipeNode struct {
	pos    int
	decl   []string // variables declared (:=) or assigned (=)
	assign bool
	cmds   []*cmdNode
}

type cmdNode struct {
	pos  int
	args []arg
}

// arg is one operand of a command.
type arg struct {
	pos  int
	src  string // the operand as written, for error context
	kind argKind
	// fieldRecv: dot, variable or pipe; names are the field chain.
	name  string    // function name, variable name
	value any       // literal value
	pipe  *pipeNode // parenthesized pipeline
	names []string  // .A.B after the receiver
}

type argKind int

const (
	argField argKind = iota // .A.B on dot (dot itself when names is empty)
	argVar                  // $x.A.B
	argFunc                 // identifier
	argLiteral
	argPipe // (pipeline).A.B
)

// Parse parses a template. Errors name the line and what is wrong.
func Parse(text string) (*Template, error) {
	p := &parser{text: text}
	list, end, err := p.parseList(true)
	if err != nil {
		return nil, err
	}
	if end != "" {
		return nil, p.errorf(p.lastPos, "unexpected {{%s}}", end)
	}
	return &Template{text: text, root: list}, nil
}

type parser struct {
	text    string
	pos     int // next byte of text to read
	lastPos int
	vars    []string
	// trimNext: the next text starts after trimmed space (-}}).
	trimNext bool
	// pendingElse holds the tokens of {{else if ...}} or {{else with ...}}.
	pendingElse []token
}

func (p *parser) errorf(pos int, format string, args ...any) error {
	line := 1 + strings.Count(p.text[:min(pos, len(p.text))], "\n")
	return fmt.Errorf("template: :%d: %s", line, fmt.Sprintf(format, args...))
}

// parseList parses nodes up to {{end}} or {{else...}}; it returns the
// keyword that ended it ("" at the end of the text, when top is set).
func (p *parser) parseList(top bool) ([]node, string, error) {
	var list []node
	for {
		start := strings.Index(p.text[p.pos:], "{{")
		var txt string
		if start < 0 {
			txt = p.text[p.pos:]
		} else {
			txt = p.text[p.pos : p.pos+start]
		}
		actionPos := p.pos + start
		trimLeft := start >= 0 && strings.HasPrefix(p.text[actionPos+2:], "- ") || start >= 0 && strings.HasPrefix(p.text[actionPos+2:], "-\t") || start >= 0 && strings.HasPrefix(p.text[actionPos+2:], "-\n")
		if p.trimNext {
			txt = strings.TrimLeft(txt, " \t\r\n")
			p.trimNext = false
		}
		if trimLeft {
			txt = strings.TrimRight(txt, " \t\r\n")
		}
		if txt != "" {
			list = append(list, textNode(txt))
		}
		if start < 0 {
			p.pos = len(p.text)
			if !top {
				return nil, "", p.errorf(len(p.text), "unexpected EOF")
			}
			return list, "", nil
		}
		inner := actionPos + 2
		if trimLeft {
			inner += 2
		}
		if isComment, err := p.skipComment(actionPos, inner); isComment || err != nil {
			if err != nil {
				return nil, "", err
			}
			continue
		}
		toks, next, trimRight, err := p.lexAction(inner)
		if err != nil {
			return nil, "", err
		}
		p.pos = next
		p.trimNext = trimRight
		p.lastPos = actionPos
		n, end, err := p.parseAction(toks, actionPos)
		if err != nil {
			return nil, "", err
		}
		if end != "" {
			if top && end == "end" {
				return nil, "", p.errorf(actionPos, "unexpected {{end}}")
			}
			if top {
				return nil, "", p.errorf(actionPos, "unexpected {{else}}")
			}
			return list, end, nil
		}
		if n != nil {
			list = append(list, n)
		}
	}
}

// skipComment skips the comment action {{/* ... */}} whose inside starts
// at inner, and says whether there was one.
func (p *parser) skipComment(actionPos, inner int) (bool, error) {
	rest := strings.TrimLeft(p.text[inner:], " \t\r\n")
	if !strings.HasPrefix(rest, "/*") {
		return false, nil
	}
	cstart := len(p.text) - len(rest)
	cend := strings.Index(p.text[cstart:], "*/")
	if cend < 0 {
		return true, p.errorf(actionPos, "unclosed comment")
	}
	after := cstart + cend + 2
	rest2 := strings.TrimLeft(p.text[after:], " \t\r\n")
	switch {
	case strings.HasPrefix(rest2, "-}}"):
		p.trimNext = true
		p.pos = len(p.text) - len(rest2) + 3
	case strings.HasPrefix(p.text[after:], "}}"):
		p.pos = after + 2
	default:
		return true, p.errorf(actionPos, "comment ends before closing delimiter")
	}
	return true, nil
}

// parseAction parses the tokens of one action. It returns the node, or the
// keyword ("end", "else", "else if"/"else with" with toks kept in p) that
// ends a list.
func (p *parser) parseAction(toks []token, pos int) (node, string, error) {
	if len(toks) == 0 {
		return nil, "", p.errorf(pos, "missing value for command")
	}
	switch t := toks[0]; {
	case t.kind == tokIdent && t.text == "end":
		if len(toks) > 1 {
			return nil, "", p.errorf(pos, "unexpected %s in end", toks[1].text)
		}
		return nil, "end", nil
	case t.kind == tokIdent && t.text == "else":
		if len(toks) > 1 && toks[1].kind == tokIdent && (toks[1].text == "if" || toks[1].text == "with") {
			p.pendingElse = toks[1:]
			return nil, "else " + toks[1].text, nil
		}
		if len(toks) > 1 {
			return nil, "", p.errorf(pos, "unexpected %s in else", toks[1].text)
		}
		return nil, "else", nil
	case t.kind == tokIdent && (t.text == "if" || t.text == "range" || t.text == "with"):
		return p.parseControl(t.text, toks[1:], pos)
	case t.kind == tokIdent && (t.text == "define" || t.text == "template" || t.text == "block" || t.text == "break" || t.text == "continue"):
		return nil, "", p.errorf(pos, "{{%s}} is not supported", t.text)
	}
	pipe, err := p.parsePipeline(toks, pos, false)
	if err != nil {
		return nil, "", err
	}
	return &actionNode{pipe: pipe}, "", nil
}

func (p *parser) parseControl(kind string, toks []token, pos int) (node, string, error) {
	nvars := len(p.vars)
	pipe, err := p.parsePipeline(toks, pos, kind == "range")
	if err != nil {
		return nil, "", err
	}
	c := &controlNode{kind: kind, pipe: pipe}
	list, end, err := p.parseList(false)
	if err != nil {
		return nil, "", err
	}
	c.list = list
	switch {
	case end == "else":
		c.elseList, end, err = p.parseList(false)
		if err != nil {
			return nil, "", err
		}
		if end != "end" {
			return nil, "", p.errorf(p.lastPos, "expected end; found {{%s}}", end)
		}
	case strings.HasPrefix(end, "else "):
		if kind == "range" || end[len("else "):] != kind {
			return nil, "", p.errorf(p.lastPos, "unexpected {{%s}} in %s", end, kind)
		}
		// {{else if x}} is {{else}}{{if x}}...{{end}}{{end}}, sharing the end.
		toks := p.pendingElse
		p.pendingElse = nil
		n, end2, err := p.parseControl(kind, toks[1:], p.lastPos)
		if err != nil {
			return nil, "", err
		}
		if end2 != "" {
			return nil, "", p.errorf(p.lastPos, "unexpected {{%s}}", end2)
		}
		c.elseList = []node{n}
		p.vars = p.vars[:nvars]
		return c, "", nil
	}
	p.vars = p.vars[:nvars]
	return c, "", nil
}
