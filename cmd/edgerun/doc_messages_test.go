package main

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// placeholders are the words of capitals that stand for a value in the
// messages of docs/cli.md's "Error messages" table; other capitals
// (UNAUTHORIZED, JSON, OCI) are the message's own.
var placeholders = map[string]bool{
	"CMD": true, "DIGEST": true, "DIR": true, "FILE": true, "HOST": true, "ID": true, "IMAGE": true, "KEY": true,
	"KEYS": true, "LOCK": true, "N": true, "NAME": true, "PATH": true, "PID": true, "PLATFORM": true, "PLATFORMS": true,
	"PORT": true, "PREFIX": true, "R": true, "R2": true, "REF": true, "REGISTRY": true, "S": true, "SERVER": true,
	"SIZE": true, "VALUE": true,
}

// holes splits a message at its placeholders and "...": what is left are
// its fixed parts.
var holes = regexp.MustCompile(`\.\.\.|\b[A-Z][A-Z0-9]*\b`)

// literals splits msg at its placeholders and "...": the texts between.
func literals(msg string) []string {
	var parts []string
	last := 0
	for _, m := range holes.FindAllStringIndex(msg, -1) {
		if w := msg[m[0]:m[1]]; w == "..." || placeholders[w] {
			parts = append(parts, msg[last:m[0]])
			last = m[1]
		}
	}
	return append(parts, msg[last:])
}

// messagePattern is a regular expression of msg, its placeholders and
// "..." matching any text; anchored, or not.
func messagePattern(msg string, anchored bool) *regexp.Regexp {
	parts := literals(msg)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re := strings.Join(parts, ".*")
	if anchored {
		re = "^" + re + "$"
	}
	return regexp.MustCompile(re)
}

// fixedParts are a message's literals of at least 3 characters besides
// spaces: what the tests that check it must hold.
func fixedParts(msg string) []string {
	var parts []string
	for _, p := range literals(msg) {
		if len(strings.TrimSpace(p)) >= 3 {
			parts = append(parts, p)
		}
	}
	return parts
}

// TestDocErrorMessages keeps docs/cli.md's "Error messages" table true:
// each message's tests exist and hold its fixed text, and every message
// the document quotes elsewhere is part of one of the table's.
func TestDocErrorMessages(t *testing.T) {
	doc := readCLIDoc(t)
	first, lines := section(t, doc, "### Error messages")
	srcs := testSources{}
	var messages []string
	for _, r := range tableRows(t, first, lines, []string{"message", "command", "tests"}) {
		sp := spans(r.cells[0])
		if len(sp) != 1 {
			t.Errorf("%s:%d: want the message as one backticked text, got %q", cliDoc, r.line, r.cells[0])
			continue
		}
		msg := sp[0]
		messages = append(messages, msg)
		names := testNames(r.cells[2])
		if len(names) == 0 || r.cells[1] == "" {
			t.Errorf("%s:%d: %q: name a command that makes it and the tests that check it", cliDoc, r.line, msg)
		}
		for _, name := range names {
			src, err := srcs.source(name)
			if err != nil {
				t.Errorf("%s:%d: %v", cliDoc, r.line, err)
				continue
			}
			for _, p := range fixedParts(msg) {
				if !mentions(src, p) {
					t.Errorf("%s:%d: %s does not hold %q of the message %q", cliDoc, r.line, name, p, msg)
				}
			}
		}
	}

	root := newRootCommand(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" })
	for _, q := range quotedMessages(t, doc, root) {
		if !partOfAny(q.text, messages) {
			t.Errorf("%s:%d: the message `%s` is not (part of) one in the Error messages table: add it, with the test that makes it", cliDoc, q.line, q.text)
		}
	}
}

// partOfAny reports whether quoted (from the prose, "edgerun: " left off)
// is part of a table message, its placeholders and "..." any text, or is
// an example of a whole one.
func partOfAny(quoted string, messages []string) bool {
	quoted = strings.TrimPrefix(quoted, "edgerun: ")
	for _, m := range messages {
		if messagePattern(quoted, false).MatchString(m) || messagePattern(m, true).MatchString(quoted) {
			return true
		}
	}
	return false
}

type quoted struct {
	line int
	text string
}

// quotedMessages returns the backticked texts of the document that look
// like messages: four words or more, and not a command line, a template,
// JSON, a list, a time, a ps status, a column header or a function's
// signature. The tables that list messages or verbs are left out.
func quotedMessages(t *testing.T, doc []string, root *cobra.Command) []quoted {
	t.Helper()
	skip := map[string]bool{"### Error messages": true, "## Docker compatibility": true}
	var out []quoted
	var para []string // a paragraph, so that a text broken over lines is one
	start, skipLevel, fenced := 0, 0, false
	flush := func() {
		text := strings.Join(para, "\n")
		for _, m := range backticked.FindAllStringSubmatchIndex(text, -1) {
			if s := strings.Join(strings.Fields(text[m[2]:m[3]]), " "); looksLikeMessage(s, root) {
				out = append(out, quoted{line: start + strings.Count(text[:m[0]], "\n"), text: s})
			}
		}
		para = nil
	}
	for i, l := range doc {
		// A fenced block is sample output, not a quoted message.
		if strings.HasPrefix(l, "```") {
			flush()
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		if h := headingLevel(l); h > 0 {
			flush()
			if skipLevel > 0 && h <= skipLevel {
				skipLevel = 0
			}
			if skip[l] {
				skipLevel = h
			}
		}
		if skipLevel > 0 {
			continue
		}
		if l == "" || strings.HasPrefix(l, "|") {
			flush()
		}
		if len(para) == 0 {
			start = i + 1
		}
		para = append(para, l)
	}
	flush()
	return out
}

var signatureArg = regexp.MustCompile(`^([A-Z][A-Z0-9]*|[A-Z]+\.\.\.)$`)

func looksLikeMessage(s string, root *cobra.Command) bool {
	words := strings.Fields(s)
	if len(words) < 4 {
		return false
	}
	if strings.HasPrefix(s, "edgerun: ") {
		return true
	}
	switch {
	case strings.ContainsAny(s[:1], `{"[-(0123456789`), strings.Contains(s, "{{"), strings.HasPrefix(s, "edgerun "):
		return false // JSON, a list, flags, a time, a template, a command line
	case words[0] == "Up" || words[0] == "Exited" || words[0] == "Restarting":
		return false // a ps status
	case strings.ToUpper(s) == s:
		return false // a column header
	}
	if findCommand(root, words[0]) != nil && strings.Contains(s, " -") && !strings.Contains(s, ", ") && !strings.Contains(s, ": ") {
		return false // a command line without "edgerun": top web -o pid,args
	}
	for _, w := range words[1:] {
		if !signatureArg.MatchString(w) {
			return true
		}
	}
	return false // a function's signature: pad S L R
}

// TestDocExitCodes: each row of docs/cli.md's "Exit codes" names tests,
// and they exist.
func TestDocExitCodes(t *testing.T) {
	first, lines := section(t, readCLIDoc(t), "### Exit codes")
	srcs := testSources{}
	codes := map[string]bool{}
	for _, r := range tableRows(t, first, lines, []string{"code", "when", "tests"}) {
		codes[r.cells[0]] = true
		names := testNames(r.cells[2])
		if len(names) == 0 {
			t.Errorf("%s:%d: exit code %s names no test", cliDoc, r.line, r.cells[0])
		}
		for _, name := range names {
			if _, err := srcs.source(name); err != nil {
				t.Errorf("%s:%d: %v", cliDoc, r.line, err)
			}
		}
	}
	for _, c := range []string{"0", "1", "125", "126", "127", "N"} {
		if !codes[c] {
			t.Errorf("%s: the exit codes table has no row for %s", cliDoc, c)
		}
	}
}
