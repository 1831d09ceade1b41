package gotmpl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Method is a value of the data that is called with the operands after it,
// as a Go method would be: ps's {{.Label "com.example"}}. json and
// printing leave methods out.
type Method func(args []any) (any, error)

// Object is data whose fields have other names than its JSON's, as a Go
// struct with json tags has in text/template: docker's events.Message is
// read as .Status and .TimeNano, while {{json .}} writes "status" and
// "timeNano". A field reads Fields; json and printing use Value (a Go
// value, printed as text/template prints it).
type Object struct {
	Fields map[string]any
	Value  any
}

// Data turns v into the generic form templates run over: v's JSON decoded
// with numbers kept as json.Number (docker's inspect does the same).
func Data(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// maxSteps bounds the work of one Execute: a range is bounded by its
// data, but nested ranges multiply.
const maxSteps = 1 << 22

type state struct {
	t     *Template
	w     io.Writer
	vars  []variable
	steps int
}

type variable struct {
	name  string
	value any
}

// ExecError is an error of Execute, in text/template's words:
// template: :LINE:COL: executing "" at <CONTEXT>: MESSAGE.
type ExecError struct {
	Line, Col int
	Context   string
	Err       error
}

func (e *ExecError) Error() string {
	return fmt.Sprintf("template: :%d:%d: executing \"\" at <%s>: %v", e.Line, e.Col, e.Context, e.Err)
}

func (e *ExecError) Unwrap() error { return e.Err }

// Execute runs the template over data (usually the result of Data) and
// writes the text to w.
func (t *Template) Execute(w io.Writer, data any) error {
	s := &state{t: t, w: w, vars: []variable{{"$", data}}}
	return s.walkList(data, t.root)
}

func (s *state) errorf(pos int, src string, format string, args ...any) error {
	text := s.t.text[:min(pos, len(s.t.text))]
	col := pos
	if i := strings.LastIndex(text, "\n"); i >= 0 {
		col = pos - i - 1
	}
	return &ExecError{Line: 1 + strings.Count(text, "\n"), Col: col, Context: src, Err: fmt.Errorf(format, args...)}
}

func (s *state) walkList(dot any, list []node) error {
	for _, n := range list {
		s.steps++
		if s.steps > maxSteps {
			return errors.New("template: too much work")
		}
		switch n := n.(type) {
		case textNode:
			if _, err := io.WriteString(s.w, string(n)); err != nil {
				return err
			}
		case *actionNode:
			v, err := s.evalPipeline(dot, n.pipe)
			if err != nil {
				return err
			}
			if len(n.pipe.decl) == 0 {
				if _, err := io.WriteString(s.w, printValue(v)); err != nil {
					return err
				}
			}
		case *controlNode:
			if err := s.walkControl(dot, n); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *state) walkControl(dot any, n *controlNode) error {
	mark := len(s.vars)
	defer func() { s.vars = s.vars[:mark] }()
	if n.kind == "range" {
		return s.walkRange(dot, n)
	}
	v, err := s.evalPipeline(dot, n.pipe)
	if err != nil {
		return err
	}
	if !truth(v) {
		return s.walkList(dot, n.elseList)
	}
	if n.kind == "with" {
		dot = v
	}
	return s.walkList(dot, n.list)
}

func (s *state) walkRange(dot any, n *controlNode) error {
	pipe := *n.pipe
	pipe.decl = nil
	v, err := s.evalPipeline(dot, &pipe)
	if err != nil {
		return err
	}
	mark := len(s.vars)
	each := func(key, elem any) error {
		s.vars = s.vars[:mark]
		switch len(n.pipe.decl) {
		case 1:
			s.vars = append(s.vars, variable{n.pipe.decl[0], elem})
		case 2:
			s.vars = append(s.vars, variable{n.pipe.decl[0], key}, variable{n.pipe.decl[1], elem})
		}
		return s.walkList(elem, n.list)
	}
	switch v := v.(type) {
	case []any:
		if len(v) == 0 {
			break
		}
		for i, e := range v {
			if err := each(json.Number(fmt.Sprint(i)), e); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		keys := dataKeys(v)
		if len(keys) == 0 {
			break
		}
		for _, k := range keys {
			if err := each(k, v[k]); err != nil {
				return err
			}
		}
		return nil
	case nil:
	default:
		return s.errorf(n.pipe.pos, "range", "range can't iterate over %s", printValue(v))
	}
	return s.walkList(dot, n.elseList)
}

// dataKeys are the sorted keys of m that are data, not methods.
func dataKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if _, ok := v.(Method); !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func (s *state) evalPipeline(dot any, pipe *pipeNode) (any, error) {
	var v any
	for i, c := range pipe.cmds {
		var final []any
		if i > 0 {
			final = []any{v}
		}
		var err error
		v, err = s.evalCommand(dot, c, final)
		if err != nil {
			return nil, err
		}
	}
	for _, name := range pipe.decl {
		if pipe.assign {
			for i := len(s.vars) - 1; i >= 0; i-- {
				if s.vars[i].name == name {
					s.vars[i].value = v
					break
				}
			}
			continue
		}
		s.vars = append(s.vars, variable{name, v})
	}
	return v, nil
}

func (s *state) evalCommand(dot any, c *cmdNode, final []any) (any, error) {
	head := c.args[0]
	rest := c.args[1:]
	args := func() ([]any, error) {
		vals := make([]any, 0, len(rest)+len(final))
		for _, a := range rest {
			v, err := s.evalArg(dot, a)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
		return append(vals, final...), nil
	}
	switch head.kind {
	case argFunc:
		vals, err := args()
		if err != nil {
			return nil, err
		}
		v, err := callFunc(head.name, vals)
		if err != nil {
			return nil, s.errorf(head.pos, head.src, "error calling %s: %w", head.name, err)
		}
		return v, nil
	case argField, argVar, argPipe:
		v, err := s.evalArg(dot, head)
		if err != nil {
			return nil, err
		}
		m, isMethod := v.(Method)
		if !isMethod {
			if len(rest) > 0 || len(final) > 0 {
				return nil, s.errorf(head.pos, head.src, "can't give argument to non-function %s", head.src)
			}
			return v, nil
		}
		vals, err := args()
		if err != nil {
			return nil, err
		}
		out, err := m(vals)
		if err != nil {
			return nil, s.errorf(head.pos, head.src, "error calling %s: %w", head.src, err)
		}
		return out, nil
	}
	if len(rest) > 0 || len(final) > 0 {
		return nil, s.errorf(head.pos, head.src, "can't give argument to non-function %s", head.src)
	}
	return head.value, nil
}

// evalArg evaluates one operand; a method operand is called without
// arguments.
func (s *state) evalArg(dot any, a arg) (any, error) {
	var recv any
	switch a.kind {
	case argLiteral:
		return a.value, nil
	case argFunc:
		return nil, s.errorf(a.pos, a.src, "function %s needs arguments", a.name)
	case argField:
		recv = dot
	case argVar:
		for i := len(s.vars) - 1; i >= 0; i-- {
			if s.vars[i].name == a.name {
				recv = s.vars[i].value
				break
			}
		}
	case argPipe:
		v, err := s.evalPipeline(dot, a.pipe)
		if err != nil {
			return nil, err
		}
		recv = v
	}
	for _, name := range a.names {
		if m, ok := recv.(Method); ok {
			v, err := m(nil)
			if err != nil {
				return nil, s.errorf(a.pos, a.src, "error calling %s: %w", a.src, err)
			}
			recv = v
		}
		switch r := recv.(type) {
		case map[string]any:
			v, ok := r[name]
			if !ok && !s.t.missingNil {
				return nil, s.errorf(a.pos, a.src, "map has no entry for key %q", name)
			}
			recv = v
		case Object:
			v, ok := r.Fields[name]
			if !ok {
				return nil, s.errorf(a.pos, a.src, "can't evaluate field %s in type %s", name, typeName(r))
			}
			recv = v
		case nil:
			return nil, s.errorf(a.pos, a.src, "nil pointer evaluating interface {}.%s", name)
		default:
			return nil, s.errorf(a.pos, a.src, "can't evaluate field %s in type %s", name, typeName(r))
		}
	}
	return recv, nil
}

func typeName(v any) string {
	switch o := v.(type) {
	case string:
		return "string"
	case json.Number:
		return "json.Number"
	case bool:
		return "bool"
	case []any:
		return "[]interface {}"
	case map[string]any:
		return "map[string]interface {}"
	case Method:
		return "method"
	case Object:
		return fmt.Sprintf("%T", o.Value)
	}
	return fmt.Sprintf("%T", v)
}

// truth is text/template's: false, 0, nil and empty are false.
func truth(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case json.Number:
		f, err := v.Float64()
		return err != nil || f != 0
	case []any:
		return len(v) > 0
	case []string:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	case int:
		return v != 0
	}
	return true
}

// printValue is how text/template prints a value: fmt's %v, and
// "<no value>" for nil.
func printValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "<no value>"
	case string:
		return v
	case json.Number:
		return string(v)
	}
	return fmt.Sprint(stripMethods(v))
}

// stripMethods returns v without its Method values (they are not data).
func stripMethods(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			if _, ok := e.(Method); !ok {
				out[k] = stripMethods(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = stripMethods(e)
		}
		return out
	case Method:
		return nil
	case Object:
		return v.Value
	}
	return v
}
