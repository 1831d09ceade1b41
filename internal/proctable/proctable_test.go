package proctable

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestParseStatKeepsParenthesesInTheName(t *testing.T) {
	line := "42 (a (b) c) S 7 42 42 34816 42 4194560 100 0 0 0 250 130 0 0 20 0 1 0 1234 1000 100 rest\n"
	s, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := stat{comm: "a (b) c", ppid: 7, ttyNr: 34816, utime: 250, stime: 130, startTicks: 1234}
	if s != want {
		t.Fatalf("parseStat = %+v, want %+v", s, want)
	}
}

func TestColumns(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct{ name, got, want string }{
		{"time", cpuTime(380), "00:00:03"},
		{"time days", cpuTime(100 * (86400 + 3661)), "1-01:01:01"},
		{"stime today", startTime(now.Add(-time.Hour), now), "09:30"},
		{"stime this year", startTime(now.AddDate(0, -1, 0), now), "Nov07"},
		{"stime old", startTime(now.AddDate(-2, 0, 0), now), "2024"},
		{"tty none", tty(0), "?"},
		{"tty pts", tty(136<<8 | 3), "pts/3"},
		{"tty console", tty(4<<8 | 1), "tty1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	if p := percent(50, 0, 10); p != 5 {
		t.Fatalf("percent = %d, want 5", p)
	}
}

func TestRowsReadAProcTree(t *testing.T) {
	proc := t.TempDir()
	dir := filepath.Join(proc, "9")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("stat", "9 (sleep) S 1 9 9 0 -1 0 0 0 0 0 100 0 0 0 20 0 1 0 500 0 0\n")
	write("cmdline", "sleep\x00100\x00")
	write("status", "Name:\tsleep\nUid:\t4242424\t0\t0\t0\n")
	boot := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	src := Source{Proc: proc, Now: boot.Add(time.Minute), Boot: boot, Uptime: 15}
	rows := src.Rows([]int{9, 12345})
	want := [][]string{{"4242424", "9", "1", "10", "10:00", "?", "00:00:01", "sleep 100"}}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Fatalf("Rows = %q, want %q", rows, want)
	}
}

func TestFilterKeepsTheContainersLines(t *testing.T) {
	out := "  PID USER     COMMAND\n    1 root     init\n  300 root     sh -c sleep 5\n  301 nobody   sleep 5\n"
	h, rows, err := Filter([]byte(out), []int{300, 301})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(h, []string{"PID", "USER", "COMMAND"}) {
		t.Fatalf("header %q", h)
	}
	want := [][]string{{"300", "root", "sh -c sleep 5"}, {"301", "nobody", "sleep 5"}}
	if !slices.EqualFunc(rows, want, slices.Equal) {
		t.Fatalf("rows %q, want %q", rows, want)
	}
	if _, _, err := Filter([]byte("USER COMMAND\nroot x\n"), []int{1}); err == nil {
		t.Fatal("output without a PID column was accepted")
	}
}
