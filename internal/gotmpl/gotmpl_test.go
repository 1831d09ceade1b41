package gotmpl

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// doc is an inspect-like document, as Data makes it.
func doc(t testing.TB) any {
	t.Helper()
	d, err := Data(map[string]any{
		"Id":   "abc123",
		"Name": "/web",
		"Args": []string{"-c", "echo hi"},
		"State": map[string]any{
			"Status": "exited", "Running": false, "ExitCode": 3, "Pid": 0,
			"Health": nil,
		},
		"Config": map[string]any{
			"Labels": map[string]string{"com.example.role": "db", "tier": "back"},
			"Env":    []string{"A=1", "B=2"},
		},
		"NetworkSettings": map[string]any{
			"IPAddress": "10.88.0.2",
			"Networks":  map[string]any{"bridge": map[string]any{"IPAddress": "10.88.0.2"}, "z": map[string]any{"IPAddress": "10.99.0.2"}},
		},
		"Size":  1.5,
		"Empty": []string{},
		"Title": "hello big world",
	})
	if err != nil {
		t.Fatal(err)
	}
	m := d.(map[string]any)
	m["Label"] = Method(func(args []any) (any, error) {
		if len(args) != 1 {
			return nil, errors.New("Label takes one name")
		}
		k, _ := args[0].(string)
		v, _ := m["Config"].(map[string]any)["Labels"].(map[string]any)[k].(string)
		return v, nil
	})
	return m
}

func run(t testing.TB, text string) (string, error) {
	tmpl, err := Parse(text)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	err = tmpl.Execute(&b, doc(t))
	return b.String(), err
}

func TestExecute(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"text", "plain text", "plain text"},
		{"field", "{{.Id}}", "abc123"},
		{"nested", "{{.State.Status}} {{.State.ExitCode}}", "exited 3"},
		{"bool", "{{.State.Running}}", "false"},
		{"float", "{{.Size}}", "1.5"},
		{"nil", "{{.State.Health}}", "<no value>"},
		{"list", "{{.Args}}", "[-c echo hi]"},
		{"map", "{{.Config.Labels}}", "map[com.example.role:db tier:back]"},
		{"dot", "{{with .State}}{{.Status}}{{end}}", "exited"},
		{"json", "{{json .Config.Labels}}", `{"com.example.role":"db","tier":"back"}`},
		{"json dot without methods", "{{json .State}}", `{"ExitCode":3,"Health":null,"Pid":0,"Running":false,"Status":"exited"}`},
		{"json string no html escape", `{{json "<a&b>"}}`, `"<a&b>"`},
		{"join", `{{join .Args ","}}`, "-c,echo hi"},
		{"join nil", `{{join .State.Health ","}}`, ""},
		{"split", `{{split "a:b:c" ":"}}`, "[a b c]"},
		{"split index", `{{index (split "a:b:c" ":") 1}}`, "b"},
		{"lower", `{{lower "ABC"}}`, "abc"},
		{"upper", `{{.State.Status | upper}}`, "EXITED"},
		{"title", `{{title .Title}}`, "Hello Big World"},
		{"truncate", `{{truncate .Id 3}}`, "abc"},
		{"truncate longer", `{{truncate .Id 30}}`, "abc123"},
		{"pad", `[{{pad .Id 1 2}}]`, "[ abc123  ]"},
		{"pad empty", `[{{pad "" 1 2}}]`, "[]"},
		{"index map", `{{index .Config.Labels "com.example.role"}}`, "db"},
		{"index missing", `{{index .Config.Labels "nope"}}`, "<no value>"},
		{"index list", `{{index .Args 1}}`, "echo hi"},
		{"index nested", `{{index .NetworkSettings.Networks "bridge" "IPAddress"}}`, "10.88.0.2"},
		{"len", `{{len .Args}} {{len .Config.Labels}} {{len "abcd"}}`, "2 2 4"},
		{"printf", `{{printf "%s=%d %.1f %v" "x" .State.ExitCode .Size .State.Running}}`, "x=3 1.5 false"},
		{"print", `{{print "a" 1}}`, "a1"},
		{"println", `{{println "a"}}`, "a\n"},
		{"range list", `{{range .Args}}<{{.}}>{{end}}`, "<-c><echo hi>"},
		{"range map", `{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}`, "10.88.0.2 10.99.0.2 "},
		{"range vars", `{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}`, "com.example.role=db;tier=back;"},
		{"range index var", `{{range $i, $e := .Args}}{{$i}}{{end}}`, "01"},
		{"range else", `{{range .Empty}}x{{else}}none{{end}}`, "none"},
		{"range nil", `{{range .State.Health}}x{{else}}none{{end}}`, "none"},
		{"range root var", `{{range .Args}}{{$.Id}}{{end}}`, "abc123abc123"},
		{"if", `{{if .State.Running}}up{{else}}down{{end}}`, "down"},
		{"if zero", `{{if .State.Pid}}pid{{else}}nopid{{end}}`, "nopid"},
		{"else if", `{{if .State.Running}}a{{else if eq .State.ExitCode 3}}b{{else}}c{{end}}`, "b"},
		{"else if chain end", `{{if false}}a{{else if false}}b{{else if true}}c{{end}}`, "c"},
		{"with else", `{{with .State.Health}}{{.Status}}{{else}}no health{{end}}`, "no health"},
		{"with else with", `{{with .State.Health}}h{{else with .State}}{{.Status}}{{end}}`, "exited"},
		{"eq strings", `{{if eq .State.Status "running" "exited"}}y{{end}}`, "y"},
		{"ne", `{{ne .State.ExitCode 0}}`, "true"},
		{"lt gt", `{{lt 1 2}} {{gt 1 2}} {{le 2 2}} {{ge 1 2}}`, "true false true false"},
		{"and or not", `{{and 1 0}} {{or 0 "x"}} {{not true}}`, "0 x false"},
		{"method", `{{.Label "tier"}}`, "back"},
		{"method missing key", `[{{.Label "nope"}}]`, "[]"},
		{"variable", `{{$x := .Id}}{{$x}}{{$x = "y"}}{{$x}}`, "abc123y"},
		{"var field", `{{$s := .State}}{{$s.Status}}`, "exited"},
		{"paren field", `{{(index .NetworkSettings.Networks "z").IPAddress}}`, "10.99.0.2"},
		{"trim", "a  {{- .Id -}}  b", "aabc123b"},
		{"comment", "a{{/* note */}}b{{- /* x */ -}} c", "abc"},
		{"raw string", "{{`a\\tb`}}", `a\tb`},
		{"quoted escape", `{{"a\tb"}}`, "a\tb"},
		{"pipeline into func", `{{.Args | len}}`, "2"},
		{"literal nil compare", `{{eq .State.Health nil}}`, "true"},
		{"unicode text", "héllo {{.Id}}", "héllo abc123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, tt.text)
			if err != nil || got != tt.want {
				t.Errorf("%s = %q, %v; want %q", tt.text, got, err, tt.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		// docker inspect's own words for a missing field.
		{"missing field", "{{.Nope}}", `template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"`},
		{"missing nested", "x\n {{.State.Nope}}", `template: :2:3: executing "" at <.State.Nope>: map has no entry for key "Nope"`},
		{"field of nil", "{{.State.Health.Status}}", `nil pointer evaluating interface {}.Status`},
		{"field of string", "{{.Id.X}}", `can't evaluate field X in type string`},
		{"unknown function", "{{nope .Id}}", `template: :1: function "nope" not defined`},
		{"unclosed action", "{{.Id", "unclosed action"},
		{"unclosed if", "{{if .Id}}x", "unexpected EOF"},
		{"stray end", "{{end}}", "unexpected {{end}}"},
		{"stray else", "{{else}}", "unexpected {{else}}"},
		{"empty action", "{{}}", "missing value for command"},
		{"bad string", `{{"abc}}`, "unterminated quoted string"},
		{"bad number", "{{1x2}}", "bad number syntax"},
		{"bad char", "{{.Id ! 1}}", `unexpected '!' in command`},
		{"unclosed paren", "{{(.Id}}", "unclosed left paren"},
		{"stray paren", "{{.Id)}}", `unexpected ")" in operand`},
		{"undefined var", "{{$x}}", `undefined variable "$x"`},
		{"var out of scope", "{{if true}}{{$x := 1}}{{end}}{{$x}}", `undefined variable "$x"`},
		{"args to field", `{{.Id "x"}}`, "can't give argument to non-function .Id"},
		{"func as operand", `{{join .Args len}}`, `function "len" in argument position`},
		{"wrong arg count", `{{upper}}`, "error calling upper: wrong number of args"},
		{"join non-list", `{{join .Id ","}}`, "error calling join: want a list"},
		{"index out of range", `{{index .Args 5}}`, "index out of range: 5"},
		{"range over string", `{{range .Id}}{{end}}`, "range can't iterate over abc123"},
		{"compare types", `{{eq .Id 1}}`, "incompatible types for comparison"},
		{"truncate negative", `{{truncate .Id -1}}`, "negative length"},
		{"define", `{{define "x"}}{{end}}`, "{{define}} is not supported"},
		{"unclosed comment", `{{/* x }}`, "unclosed comment"},
		{"else range else if", `{{range .Args}}{{else if true}}{{end}}`, "in range"},
		{"method error", `{{.Label}}`, "error calling .Label: Label takes one name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := run(t, tt.text)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s = %q, %v; want an error containing %q", tt.text, got, err, tt.want)
			}
		})
	}
}

func TestExecErrorIsTyped(t *testing.T) {
	_, err := run(t, "{{.Nope}}")
	var ee *ExecError
	if !errors.As(err, &ee) || ee.Context != ".Nope" || ee.Line != 1 || ee.Col != 2 {
		t.Errorf("error %#v: want an ExecError at 1:2 <.Nope>", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"{{.Id}}", "{{range $k, $v := .A}}{{$k}}{{else}}x{{end}}", "{{if eq 1 2}}{{else if .B}}{{end}}",
		"{{- /* c */ -}}", `{{printf "%d" (len .X) | upper}}`, "{{(.A).B}}", "{{$x := 1}}{{$x = 2}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		tmpl, err := Parse(text)
		if err != nil {
			return
		}
		var b strings.Builder
		_ = tmpl.Execute(&b, nil)
	})
}

func FuzzExecute(f *testing.F) {
	for _, s := range []string{"{{.State.Status}}", "{{json .}}", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
		`{{index .Config.Labels "tier"}}`, `{{.Label "tier"}}`, `{{pad (truncate .Id 2) 1 1}}`, `{{split .Title " " | len}}`,
		`{{range $i, $a := .Args}}{{printf "%v %q" $i $a}}{{end}}`} {
		f.Add(s)
	}
	d := doc(f)
	f.Fuzz(func(t *testing.T, text string) {
		tmpl, err := Parse(text)
		if err != nil {
			return
		}
		_ = tmpl.Execute(&limitWriter{n: 1 << 20}, d)
	})
}

// limitWriter fails once n bytes are written: a template may ask for
// any amount of output, and the fuzzer should not spend its memory on it.
type limitWriter struct{ n int }

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errors.New("output limit")
	}
	w.n -= len(p)
	return len(p), nil
}

// message is a Go value whose JSON names differ from its field names, as
// docker's events.Message.
type message struct {
	Status string `json:"status"`
	Time   int64  `json:"time"`
}

func TestObjectReadsFieldsAndPrintsItsValue(t *testing.T) {
	obj := Object{
		Fields: map[string]any{"Status": "start", "Time": json.Number("17")},
		Value:  message{Status: "start", Time: 17},
	}
	for _, tt := range []struct{ text, want, err string }{
		{"{{.Status}} {{.Time}}", "start 17", ""},
		{"{{json .}}", `{"status":"start","time":17}`, ""},
		{"{{.}}", "{start 17}", ""},
		{"{{with .}}{{.Status}}{{end}}", "start", ""},
		{"{{.status}}", "", "can't evaluate field status in type gotmpl.message"},
		{"{{index . \"Status\"}}", "", "can't index item of type gotmpl.message"},
	} {
		tmpl, err := Parse(tt.text)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		err = tmpl.Execute(&b, obj)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: %v, want an error with %q", tt.text, err, tt.err)
			}
			continue
		}
		if err != nil || b.String() != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.text, b.String(), err, tt.want)
		}
	}
}

func TestMissingKeysAreNil(t *testing.T) {
	tmpl, err := Parse("{{.Config.Labels.nope}}|{{if .Config.Labels.nope}}x{{else}}none{{end}}|{{.Config.Labels.tier}}")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, doc(t)); err == nil {
		t.Fatalf("a missing key without MissingKeysAreNil: %q, want an error", b.String())
	}
	b.Reset()
	if err := tmpl.MissingKeysAreNil().Execute(&b, doc(t)); err != nil || b.String() != "<no value>|none|back" {
		t.Errorf("with MissingKeysAreNil: %q, %v; want <no value>|none|back", b.String(), err)
	}
}
