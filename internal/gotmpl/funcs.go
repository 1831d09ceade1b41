package gotmpl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// funcs are the template functions: docker's (cli/templates) and the
// text/template builtins scripts use. Each checks its own arguments.
var funcs = map[string]func(args []any) (any, error){
	// docker's
	"json":     fnJSON,
	"join":     fnJoin,
	"split":    fnSplit,
	"lower":    stringFunc(strings.ToLower),
	"upper":    stringFunc(strings.ToUpper),
	"title":    stringFunc(title),
	"truncate": fnTruncate,
	"pad":      fnPad,
	// text/template's
	"index":   fnIndex,
	"len":     fnLen,
	"printf":  fnPrintf,
	"print":   func(a []any) (any, error) { return fmt.Sprint(printArgs(a)...), nil },
	"println": func(a []any) (any, error) { return fmt.Sprintln(printArgs(a)...), nil },
	"not":     func(a []any) (any, error) { return nargs(a, 1, func() any { return !truth(a[0]) }) },
	"and":     fnAnd,
	"or":      fnOr,
	"eq":      compareFunc(func(c int) bool { return c == 0 }),
	"ne":      compareFunc(func(c int) bool { return c != 0 }),
	"lt":      compareFunc(func(c int) bool { return c < 0 }),
	"le":      compareFunc(func(c int) bool { return c <= 0 }),
	"gt":      compareFunc(func(c int) bool { return c > 0 }),
	"ge":      compareFunc(func(c int) bool { return c >= 0 }),
}

func callFunc(name string, args []any) (any, error) { return funcs[name](args) }

func nargs(a []any, n int, f func() any) (any, error) {
	if len(a) != n {
		return nil, fmt.Errorf("wrong number of args: want %d got %d", n, len(a))
	}
	return f(), nil
}

// asString converts a string operand; numbers and bools are spelled out.
func asString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return string(v), nil
	case bool:
		return strconv.FormatBool(v), nil
	case nil:
		return "", nil
	}
	return "", fmt.Errorf("want a string, got %s", typeName(v))
}

func asInt(v any) (int, error) {
	switch v := v.(type) {
	case json.Number:
		i, err := strconv.Atoi(string(v))
		if err != nil {
			return 0, fmt.Errorf("want an integer, got %s", v)
		}
		return i, nil
	case int:
		return v, nil
	}
	return 0, fmt.Errorf("want an integer, got %s", typeName(v))
}

func stringFunc(f func(string) string) func([]any) (any, error) {
	return func(a []any) (any, error) {
		if len(a) != 1 {
			return nil, fmt.Errorf("wrong number of args: want 1 got %d", len(a))
		}
		s, err := asString(a[0])
		if err != nil {
			return nil, err
		}
		return f(s), nil
	}
}

// title upper-cases the first letter of every word, as docker's title.
func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		up := unicode.IsSpace(prev) || unicode.IsPunct(prev)
		prev = r
		if up {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

func fnJSON(a []any) (any, error) {
	if len(a) != 1 {
		return nil, fmt.Errorf("wrong number of args: want 1 got %d", len(a))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(stripMethods(a[0])); err != nil {
		return nil, err
	}
	return strings.TrimSpace(buf.String()), nil
}

func fnJoin(a []any) (any, error) {
	if len(a) != 2 {
		return nil, fmt.Errorf("wrong number of args: want 2 got %d", len(a))
	}
	sep, err := asString(a[1])
	if err != nil {
		return nil, err
	}
	var elems []string
	switch l := a[0].(type) {
	case []any:
		for _, e := range l {
			s, err := asString(e)
			if err != nil {
				return nil, err
			}
			elems = append(elems, s)
		}
	case nil:
	default:
		return nil, fmt.Errorf("want a list, got %s", typeName(l))
	}
	return strings.Join(elems, sep), nil
}

func fnSplit(a []any) (any, error) {
	if len(a) != 2 {
		return nil, fmt.Errorf("wrong number of args: want 2 got %d", len(a))
	}
	s, err := asString(a[0])
	if err != nil {
		return nil, err
	}
	sep, err := asString(a[1])
	if err != nil {
		return nil, err
	}
	var out []any
	for _, p := range strings.Split(s, sep) {
		out = append(out, p)
	}
	return out, nil
}

// fnTruncate keeps the first n characters, as docker's truncate.
func fnTruncate(a []any) (any, error) {
	if len(a) != 2 {
		return nil, fmt.Errorf("wrong number of args: want 2 got %d", len(a))
	}
	s, err := asString(a[0])
	if err != nil {
		return nil, err
	}
	n, err := asInt(a[1])
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, errors.New("negative length")
	}
	if utf8.RuneCountInString(s) <= n {
		return s, nil
	}
	return string([]rune(s)[:n]), nil
}

// fnPad surrounds a non-empty string with spaces, as docker's pad.
func fnPad(a []any) (any, error) {
	if len(a) != 3 {
		return nil, fmt.Errorf("wrong number of args: want 3 got %d", len(a))
	}
	s, err := asString(a[0])
	if err != nil {
		return nil, err
	}
	pre, err := asInt(a[1])
	if err != nil {
		return nil, err
	}
	post, err := asInt(a[2])
	if err != nil {
		return nil, err
	}
	if pre < 0 || post < 0 || pre > 1<<16 || post > 1<<16 {
		return nil, errors.New("padding out of range")
	}
	if s == "" {
		return s, nil
	}
	return strings.Repeat(" ", pre) + s + strings.Repeat(" ", post), nil
}

// fnIndex is text/template's index: map keys and list positions. A
// missing map key gives nil (printed "<no value>"), as in text/template.
func fnIndex(a []any) (any, error) {
	if len(a) == 0 {
		return nil, errors.New("wrong number of args: want at least 1 got 0")
	}
	v := a[0]
	for _, k := range a[1:] {
		switch c := v.(type) {
		case map[string]any:
			key, err := asString(k)
			if err != nil {
				return nil, err
			}
			v = c[key]
		case []any:
			i, err := asInt(k)
			if err != nil {
				return nil, err
			}
			if i < 0 || i >= len(c) {
				return nil, fmt.Errorf("index out of range: %d", i)
			}
			v = c[i]
		case string:
			i, err := asInt(k)
			if err != nil {
				return nil, err
			}
			if i < 0 || i >= len(c) {
				return nil, fmt.Errorf("index out of range: %d", i)
			}
			v = json.Number(strconv.Itoa(int(c[i])))
		case nil:
			return nil, errors.New("index of untyped nil")
		default:
			return nil, fmt.Errorf("can't index item of type %s", typeName(c))
		}
	}
	return v, nil
}

func fnLen(a []any) (any, error) {
	if len(a) != 1 {
		return nil, fmt.Errorf("wrong number of args: want 1 got %d", len(a))
	}
	var n int
	switch v := a[0].(type) {
	case string:
		n = len(v)
	case []any:
		n = len(v)
	case map[string]any:
		n = len(dataKeys(v))
	default:
		return nil, fmt.Errorf("len of type %s", typeName(v))
	}
	return json.Number(strconv.Itoa(n)), nil
}

// printArgs turns json.Number into int64 or float64, so %d and %f work.
func printArgs(a []any) []any {
	out := make([]any, len(a))
	for i, v := range a {
		switch n := v.(type) {
		case json.Number:
			if n64, err := n.Int64(); err == nil {
				out[i] = n64
			} else if f, err := n.Float64(); err == nil {
				out[i] = f
			} else {
				out[i] = string(n)
			}
		default:
			out[i] = stripMethods(v)
		}
	}
	return out
}

func fnPrintf(a []any) (any, error) {
	if len(a) == 0 {
		return nil, errors.New("wrong number of args: want at least 1 got 0")
	}
	f, err := asString(a[0])
	if err != nil {
		return nil, err
	}
	return fmt.Sprintf(f, printArgs(a[1:])...), nil
}

// and returns the first false operand or the last; or the first true one
// or the last (operands are evaluated before the call).
func fnAnd(a []any) (any, error) {
	if len(a) == 0 {
		return nil, errors.New("wrong number of args: want at least 1 got 0")
	}
	for _, v := range a {
		if !truth(v) {
			return v, nil
		}
	}
	return a[len(a)-1], nil
}

func fnOr(a []any) (any, error) {
	if len(a) == 0 {
		return nil, errors.New("wrong number of args: want at least 1 got 0")
	}
	for _, v := range a {
		if truth(v) {
			return v, nil
		}
	}
	return a[len(a)-1], nil
}

// compareFunc makes eq, ne, lt, le, gt, ge. eq and ne take several right
// operands (eq is true when any matches; ne needs all to differ).
func compareFunc(ok func(int) bool) func([]any) (any, error) {
	return func(a []any) (any, error) {
		if len(a) < 2 {
			return nil, fmt.Errorf("wrong number of args: want at least 2 got %d", len(a))
		}
		eqLike := ok(0) && !ok(-1) && !ok(1) // eq
		neLike := !ok(0) && ok(-1) && ok(1)  // ne
		if !eqLike && !neLike && len(a) != 2 {
			return nil, fmt.Errorf("wrong number of args: want 2 got %d", len(a))
		}
		for _, b := range a[1:] {
			c, err := compare(a[0], b)
			if err != nil {
				return nil, err
			}
			if eqLike && c == 0 {
				return true, nil
			}
			if neLike && c == 0 {
				return false, nil
			}
			if !eqLike && !neLike {
				return ok(c), nil
			}
		}
		return neLike, nil
	}
}

func compare(x, y any) (int, error) {
	switch x := x.(type) {
	case json.Number:
		if y, ok := y.(json.Number); ok {
			fx, err1 := x.Float64()
			fy, err2 := y.Float64()
			if err1 != nil || err2 != nil {
				return strings.Compare(string(x), string(y)), nil
			}
			switch {
			case fx < fy:
				return -1, nil
			case fx > fy:
				return 1, nil
			}
			return 0, nil
		}
	case string:
		if y, ok := y.(string); ok {
			return strings.Compare(x, y), nil
		}
	case bool:
		if y, ok := y.(bool); ok {
			if x == y {
				return 0, nil
			}
			return 1, nil
		}
	case nil:
		if y == nil {
			return 0, nil
		}
	}
	return 0, fmt.Errorf("incompatible types for comparison: %s and %s", typeName(x), typeName(y))
}
