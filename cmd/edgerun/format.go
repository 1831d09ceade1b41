package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/internal/gotmpl"
)

// listFormat is the --format of a listing command: docker's rules.
//   - "" or "table": the command's default table
//   - "json": one JSON object per line ({{json .}})
//   - "table TEMPLATE": a header row made of the fields' column names,
//     then TEMPLATE for each row, aligned at tabs
//   - "TEMPLATE": TEMPLATE for each row
//
// In a template, \t and \n written as two characters are a tab and a
// newline (docker does the same, for shells without $'...').
type listFormat struct {
	tmpl  *gotmpl.Template
	table bool
}

// parseListFormat parses --format; def is the command's default table
// ("table {{.ID}}\t...").
func parseListFormat(format, def string) (*listFormat, error) {
	switch format {
	case "", "table":
		format = def
	case "json":
		format = "{{json .}}"
	}
	f := &listFormat{}
	if rest, ok := strings.CutPrefix(format, "table"); ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
		f.table, format = true, strings.TrimLeft(rest, " ")
	}
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	t, err := gotmpl.Parse(format)
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	f.tmpl = t
	return f, nil
}

// write prints rows (each the template's data, see gotmpl.Data) with the
// header row of headers in a table.
func (f *listFormat) write(w io.Writer, headers map[string]any, rows []any) error {
	out := w
	var tw *tabwriter.Writer
	if f.table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		var b bytes.Buffer
		// A template whose header cannot be made (it reaches into a
		// field's inside) gets no header row, not an error.
		if err := f.tmpl.Execute(&b, headers); err == nil {
			fmt.Fprintln(out, b.String())
		}
	}
	for _, row := range rows {
		var b bytes.Buffer
		if err := f.tmpl.Execute(&b, row); err != nil {
			return err
		}
		fmt.Fprintln(out, b.String())
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// templateData turns a document into what templates read: its JSON as
// maps, lists, strings, numbers and booleans.
func templateData(v any) (map[string]any, error) {
	d, err := gotmpl.Data(v)
	if err != nil {
		return nil, err
	}
	m, ok := d.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template data is a %T, not an object", d)
	}
	return m, nil
}

// headerData maps field names to their column names, for a table's header
// row.
func headerData(cols map[string]string) map[string]any {
	h := make(map[string]any, len(cols))
	for k, v := range cols {
		h[k] = v
	}
	return h
}

// inspectOutput prints inspect documents as docker does: a JSON array, or
// each document through -f/--format's template, a line each ("json" is
// the array). A bad template is refused before anything is printed.
type inspectOutput struct {
	tmpl *gotmpl.Template
}

func parseInspectFormat(format string) (*inspectOutput, error) {
	if format == "" || format == "json" {
		return &inspectOutput{}, nil
	}
	t, err := gotmpl.Parse(format)
	if err != nil {
		return nil, fmt.Errorf("--format: %w", err)
	}
	return &inspectOutput{tmpl: t}, nil
}

// write prints docs, indented by indent in JSON.
func (o *inspectOutput) write(w io.Writer, docs []any, indent string) error {
	if o.tmpl == nil {
		enc := json.NewEncoder(w)
		enc.SetIndent("", indent)
		enc.SetEscapeHTML(false)
		return enc.Encode(docs)
	}
	for _, d := range docs {
		data, err := templateData(d)
		if err != nil {
			return err
		}
		var b strings.Builder
		if err := o.tmpl.Execute(&b, data); err != nil {
			return err
		}
		fmt.Fprintln(w, b.String())
	}
	return nil
}

// runInspect is every inspect command: each ref's document from get,
// printed with -f/--format (see inspectOutput), then the errors of the
// refs that were not found, after the others are printed, as docker does.
func runInspect(g *globalOptions, format, indent string, args []string, get func(rt *container.Runtime, ref string) (any, error)) error {
	out, err := parseInspectFormat(format)
	if err != nil {
		return err
	}
	rt, err := container.Open(g.config())
	if err != nil {
		return err
	}
	docs := []any{}
	var errs []error
	for _, ref := range args {
		d, err := get(rt, ref)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		docs = append(docs, d)
	}
	if err := out.write(g.Stdout, docs, indent); err != nil {
		return err
	}
	return errors.Join(errs...)
}
