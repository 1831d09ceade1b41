package main

import (
	"strings"
	"testing"

	"github.com/edgerun/edgerun/internal/gotmpl"
)

func TestListFormat(t *testing.T) {
	rows := []any{
		map[string]any{"ID": "abc", "Names": "web", "Label": labelMethod(map[string]string{"tier": "edge"})},
		map[string]any{"ID": "defghijkl", "Names": "db", "Label": labelMethod(nil)},
	}
	headers := headerData(map[string]string{"ID": "CONTAINER ID", "Names": "NAMES"})
	headers["Label"] = gotmpl.Method(func([]any) (any, error) { return "LABEL", nil })
	def := `table {{.ID}}\t{{.Names}}`
	tests := []struct{ format, want string }{
		{"", "CONTAINER ID   NAMES\nabc            web\ndefghijkl      db\n"},
		{"table", "CONTAINER ID   NAMES\nabc            web\ndefghijkl      db\n"},
		{"{{.Names}}", "web\ndb\n"},
		{`{{.Names}}\t{{.ID}}`, "web\tabc\ndb\tdefghijkl\n"},
		{`table {{.Names}}\t{{.Label "tier"}}`, "NAMES     LABEL\nweb       edge\ndb        \n"},
		{"json", `{"ID":"abc","Names":"web"}` + "\n" + `{"ID":"defghijkl","Names":"db"}` + "\n"},
		{"tablet {{.Names}}", "tablet web\ntablet db\n"}, // not the table keyword
	}
	for _, tt := range tests {
		lf, err := parseListFormat(tt.format, def)
		if err != nil {
			t.Fatalf("%q: %v", tt.format, err)
		}
		var b strings.Builder
		if err := lf.write(&b, headers, rows); err != nil {
			t.Fatalf("%q: %v", tt.format, err)
		}
		if b.String() != tt.want {
			t.Errorf("--format %q:\n%q\nwant\n%q", tt.format, b.String(), tt.want)
		}
	}
	if _, err := parseListFormat("{{.Names", def); err == nil || !strings.Contains(err.Error(), "--format: template: :1: unclosed action") {
		t.Errorf("unclosed action: %v", err)
	}
	lf, _ := parseListFormat("{{.Nope}}", def)
	if err := lf.write(&strings.Builder{}, headers, rows); err == nil || !strings.Contains(err.Error(), `map has no entry for key "Nope"`) {
		t.Errorf("missing field: %v", err)
	}
}
