package gotmpl

import (
	"encoding/json"
	"slices"
)

// tokens is a cursor over the tokens of one action.
type tokens struct {
	toks []token
	i    int
}

func (t *tokens) peek() *token {
	if t.i < len(t.toks) {
		return &t.toks[t.i]
	}
	return nil
}

// parsePipeline parses a whole action's tokens as a pipeline; inRange
// allows the two-variable declaration of range.
func (p *parser) parsePipeline(toks []token, pos int, inRange bool) (*pipeNode, error) {
	ts := &tokens{toks: toks}
	pipe, err := p.pipeline(ts, pos, inRange)
	if err != nil {
		return nil, err
	}
	if t := ts.peek(); t != nil {
		return nil, p.errorf(t.pos, "unexpected %q in operand", t.text)
	}
	return pipe, nil
}

func (p *parser) pipeline(ts *tokens, pos int, inRange bool) (*pipeNode, error) {
	pipe := &pipeNode{pos: pos}
	if t := ts.peek(); t != nil {
		pipe.pos = t.pos
	}
	// Declarations: $x :=, $x =, $i, $v :=.
	if j := ts.i; j < len(ts.toks) && ts.toks[j].kind == tokVar && len(ts.toks[j].fields) == 0 {
		var names []string
		k := j
		names = append(names, ts.toks[k].value)
		k++
		if inRange && k+1 < len(ts.toks) && ts.toks[k].kind == tokComma && ts.toks[k+1].kind == tokVar {
			names = append(names, ts.toks[k+1].value)
			k += 2
		}
		if k < len(ts.toks) && (ts.toks[k].kind == tokDeclare || ts.toks[k].kind == tokAssign) {
			pipe.assign = ts.toks[k].kind == tokAssign
			for _, n := range names {
				if n == "$" {
					return nil, p.errorf(ts.toks[j].pos, "cannot declare $")
				}
				if pipe.assign && !slices.Contains(p.vars, n) {
					return nil, p.errorf(ts.toks[j].pos, "undefined variable %q", n)
				}
			}
			pipe.decl = names
			ts.i = k + 1
		}
	}
	for {
		cmd, err := p.command(ts)
		if err != nil {
			return nil, err
		}
		pipe.cmds = append(pipe.cmds, cmd)
		t := ts.peek()
		if t == nil || t.kind != tokPipe {
			break
		}
		ts.i++
	}
	if !pipe.assign {
		p.vars = append(p.vars, pipe.decl...)
	}
	return pipe, nil
}

func (p *parser) command(ts *tokens) (*cmdNode, error) {
	cmd := &cmdNode{}
	for {
		t := ts.peek()
		if t == nil || t.kind == tokPipe || t.kind == tokRight {
			break
		}
		a, err := p.operand(ts)
		if err != nil {
			return nil, err
		}
		if len(cmd.args) == 0 {
			cmd.pos = a.pos
		}
		cmd.args = append(cmd.args, a)
	}
	if len(cmd.args) == 0 {
		pos := p.lastPos
		if t := ts.peek(); t != nil {
			pos = t.pos
		}
		return nil, p.errorf(pos, "missing value for command")
	}
	for _, a := range cmd.args[1:] {
		if a.kind == argFunc {
			// Every function takes arguments: a later operand must be
			// parenthesized to call one.
			return nil, p.errorf(a.pos, "function %q in argument position: use parentheses", a.name)
		}
	}
	return cmd, nil
}

func (p *parser) operand(ts *tokens) (arg, error) {
	t := ts.peek()
	ts.i++
	a := arg{pos: t.pos, src: t.text}
	switch t.kind {
	case tokField:
		a.kind, a.names = argField, t.fields
	case tokVar:
		if !slices.Contains(p.vars, t.value) && t.value != "$" {
			return a, p.errorf(t.pos, "undefined variable %q", t.value)
		}
		a.kind, a.name, a.names = argVar, t.value, t.fields
	case tokString:
		a.kind, a.value = argLiteral, t.value
	case tokNumber:
		a.kind, a.value = argLiteral, json.Number(t.text)
	case tokIdent:
		switch t.text {
		case "true", "false":
			a.kind, a.value = argLiteral, t.text == "true"
		case "nil":
			a.kind, a.value = argLiteral, nil
		default:
			if _, ok := funcs[t.text]; !ok {
				return a, p.errorf(t.pos, "function %q not defined", t.text)
			}
			a.kind, a.name = argFunc, t.text
		}
	case tokLeft:
		pipe, err := p.pipeline(ts, t.pos, false)
		if err != nil {
			return a, err
		}
		r := ts.peek()
		if r == nil || r.kind != tokRight {
			return a, p.errorf(t.pos, "unclosed left paren")
		}
		ts.i++
		a.kind, a.pipe, a.names = argPipe, pipe, r.fields
		a.src = "(...)" + r.text[1:]
	default:
		return a, p.errorf(t.pos, "unexpected %q in operand", t.text)
	}
	return a, nil
}
