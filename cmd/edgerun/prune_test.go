package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// The prune question reads a line whatever stdin is: y or yes go ahead,
// anything else, the end of the input and an interrupt do not.
func TestConfirmAnswers(t *testing.T) {
	tests := []struct {
		name  string
		input io.Reader
		want  bool
	}{
		{"y", strings.NewReader("y\n"), true},
		{"Y without newline", strings.NewReader("Y"), true},
		{"yes", strings.NewReader(" yes \n"), true},
		{"n", strings.NewReader("n\n"), false},
		{"empty line", strings.NewReader("\n"), false},
		{"end of input", strings.NewReader(""), false},
		{"something else", strings.NewReader("yep\n"), false},
		{"no stdin", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			g := &globalOptions{Stdin: tt.input, Stderr: &stderr}
			if got := confirm(context.Background(), g, "Continue? [y/N] "); got != tt.want {
				t.Errorf("confirm = %v, want %v", got, tt.want)
			}
			if stderr.String() != "Continue? [y/N] " {
				t.Errorf("asked %q", stderr.String())
			}
		})
	}
}

func TestConfirmInterruptedIsNo(t *testing.T) {
	pr, pw := io.Pipe() // an input that never answers
	defer pw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	g := &globalOptions{Stdin: pr, Stderr: io.Discard}
	if confirm(ctx, g, "Continue? ") {
		t.Fatal("an interrupted question counted as yes")
	}
}

func TestPruneFlagsAskSkipsTheQuestionWithForce(t *testing.T) {
	var stderr strings.Builder
	g := &globalOptions{Stdin: strings.NewReader(""), Stderr: &stderr}
	p := pruneFlags{force: true}
	if !p.ask(context.Background(), g, "WARNING!") || stderr.Len() != 0 {
		t.Fatalf("-f: asked %q", stderr.String())
	}
	p.force = false
	if p.ask(context.Background(), g, "WARNING!") || !strings.Contains(stderr.String(), "nothing removed") {
		t.Fatalf("no answer: stderr %q", stderr.String())
	}
}
