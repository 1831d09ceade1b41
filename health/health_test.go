package health

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestResolveMergesImageAndFlagsAsDocker(t *testing.T) {
	img := &Image{Test: []string{"CMD", "/bin/check"}, Interval: 10 * time.Second, Retries: 5}
	tests := []struct {
		name string
		img  *Image
		f    Flags
		want *Config
	}{
		{"no image check, no flags", nil, Flags{}, nil},
		{"image check with defaults", img, Flags{},
			&Config{Test: img.Test, Interval: 10 * time.Second, Timeout: DefaultTimeout, StartInterval: DefaultStartInterval, Retries: 5}},
		{"flags override one by one", img, Flags{Timeout: 2 * time.Second, Retries: 1, StartPeriod: time.Minute},
			&Config{Test: img.Test, Interval: 10 * time.Second, Timeout: 2 * time.Second, StartPeriod: time.Minute, StartInterval: DefaultStartInterval, Retries: 1}},
		{"health-cmd replaces the test", img, Flags{Cmd: "true", OnFailure: ActionKill},
			&Config{Test: []string{"CMD-SHELL", "true"}, Interval: 10 * time.Second, Timeout: DefaultTimeout, StartInterval: DefaultStartInterval, Retries: 5, OnFailure: ActionKill}},
		{"health-cmd without image check", nil, Flags{Cmd: "true"},
			&Config{Test: []string{"CMD-SHELL", "true"}, Interval: DefaultInterval, Timeout: DefaultTimeout, StartInterval: DefaultStartInterval, Retries: DefaultRetries}},
		{"no-healthcheck turns it off", img, Flags{None: true}, nil},
		{"image NONE turns it off", &Image{Test: []string{"NONE"}}, Flags{}, nil},
		{"on-failure none is the default", nil, Flags{Cmd: "x", OnFailure: ActionNone},
			&Config{Test: []string{"CMD-SHELL", "x"}, Interval: DefaultInterval, Timeout: DefaultTimeout, StartInterval: DefaultStartInterval, Retries: DefaultRetries}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.img, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && !same(got, tt.want)) {
				t.Errorf("Resolve = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func same(a, b *Config) bool {
	return strings.Join(a.Test, "\x00") == strings.Join(b.Test, "\x00") && a.Interval == b.Interval &&
		a.Timeout == b.Timeout && a.StartPeriod == b.StartPeriod && a.StartInterval == b.StartInterval &&
		a.Retries == b.Retries && a.OnFailure == b.OnFailure
}

func TestResolveRefusesBadOptionsSayingWhich(t *testing.T) {
	tests := []struct {
		name string
		img  *Image
		f    Flags
		want string
	}{
		{"bad action", nil, Flags{Cmd: "x", OnFailure: "reboot"}, "use none, kill, restart or stop"},
		{"action without a check", nil, Flags{OnFailure: ActionKill}, "needs a health check"},
		{"none with cmd", nil, Flags{None: true, Cmd: "x"}, "--no-healthcheck conflicts"},
		{"tiny interval", nil, Flags{Cmd: "x", Interval: time.Millisecond}, "--health-interval 1ms: the minimum"},
		{"tiny start interval", nil, Flags{Cmd: "x", StartInterval: time.Millisecond}, "--health-start-interval"},
		{"negative start period", nil, Flags{Cmd: "x", StartPeriod: -time.Second}, "cannot be negative"},
		{"negative retries", nil, Flags{Cmd: "x", Retries: -1}, "--health-retries -1"},
		{"empty CMD", &Image{Test: []string{"CMD"}}, Flags{}, "CMD has no command"},
		{"bad test kind", &Image{Test: []string{"RUN", "x"}}, Flags{}, `starts with "RUN"`},
		{"image interval too small", &Image{Test: []string{"CMD", "x"}, Interval: time.Millisecond}, Flags{}, "interval 1ms is below"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve(tt.img, tt.f)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Resolve error = %v, want ErrInvalid containing %q", err, tt.want)
			}
		})
	}
}

func TestArgsRunsCmdShellThroughTheShell(t *testing.T) {
	if got := (&Config{Test: []string{"CMD-SHELL", "curl -f x || exit 1"}}).Args(); strings.Join(got, "|") != "/bin/sh|-c|curl -f x || exit 1" {
		t.Errorf("CMD-SHELL args = %q", got)
	}
	if got := (&Config{Test: []string{"CMD", "/bin/check", "-q"}}).Args(); strings.Join(got, "|") != "/bin/check|-q" {
		t.Errorf("CMD args = %q", got)
	}
}

func TestRecordFollowsDockersStateMachine(t *testing.T) {
	c := &Config{Retries: 3, StartPeriod: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	at := func(sec int, code int) Result {
		return Result{Start: t0.Add(time.Duration(sec) * time.Second), ExitCode: code}
	}
	s := New(nil)
	s.Record(at(1, 1), c, t0) // within the start period: no streak
	s.Record(at(2, 1), c, t0)
	if s.Status != Starting || s.FailingStreak != 0 {
		t.Fatalf("failures in the start period: %+v", s)
	}
	s.Record(at(11, 1), c, t0)
	s.Record(at(12, 1), c, t0)
	if s.Status != Starting || s.FailingStreak != 2 {
		t.Fatalf("two failures after the start period: %+v", s)
	}
	s.Record(at(13, 1), c, t0)
	if s.Status != Unhealthy || s.FailingStreak != 3 {
		t.Fatalf("third failure: %+v, want unhealthy", s)
	}
	s.Record(at(14, 0), c, t0)
	if s.Status != Healthy || s.FailingStreak != 0 {
		t.Fatalf("success: %+v, want healthy with no streak", s)
	}
	if len(s.Log) != LogMax || s.Log[LogMax-1].Start != at(14, 0).Start {
		t.Errorf("log keeps %d results ending %v, want the last %d", len(s.Log), s.Log[len(s.Log)-1].Start, LogMax)
	}
	// Once healthy, a failure counts even within the start period.
	h := New(nil)
	h.Record(at(1, 0), c, t0)
	h.Record(at(2, 1), c, t0)
	if h.FailingStreak != 1 {
		t.Errorf("failure after healthy within the start period: streak %d, want 1", h.FailingStreak)
	}
}

func TestRecordTruncatesOutput(t *testing.T) {
	s := New(nil)
	s.Record(Result{Output: strings.Repeat("x", OutputMax+10)}, &Config{Retries: 1}, time.Time{})
	if len(s.Log[0].Output) != OutputMax {
		t.Errorf("output kept %d bytes, want %d", len(s.Log[0].Output), OutputMax)
	}
}

func TestNewKeepsThePreviousLog(t *testing.T) {
	prev := &State{Status: Unhealthy, FailingStreak: 3, Log: []Result{{ExitCode: 1}}}
	s := New(prev)
	if s.Status != Starting || s.FailingStreak != 0 || len(s.Log) != 1 {
		t.Errorf("New(prev) = %+v", s)
	}
}

func TestNextUsesTheStartIntervalOnlyWhileStarting(t *testing.T) {
	c := &Config{Interval: 30 * time.Second, StartInterval: time.Second, StartPeriod: time.Minute}
	tests := []struct {
		status string
		since  time.Duration
		want   time.Duration
	}{
		{Starting, 0, time.Second},
		{Starting, 2 * time.Minute, 30 * time.Second},
		{Healthy, 0, 30 * time.Second},
		{Unhealthy, 0, 30 * time.Second},
	}
	for _, tt := range tests {
		if got := c.Next(tt.status, tt.since); got != tt.want {
			t.Errorf("Next(%s, %v) = %v, want %v", tt.status, tt.since, got, tt.want)
		}
	}
}

func TestSummaryIsWhatPsShows(t *testing.T) {
	for st, want := range map[string]string{Starting: "(health: starting)", Healthy: "(healthy)", Unhealthy: "(unhealthy)"} {
		if got := (&State{Status: st}).Summary(); got != want {
			t.Errorf("Summary(%s) = %q, want %q", st, got, want)
		}
	}
	if (*State)(nil).Summary() != "" {
		t.Error("no state: want no summary")
	}
}
