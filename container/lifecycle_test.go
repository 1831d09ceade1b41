package container

import (
	"strings"
	"testing"
	"time"

	"github.com/edgerun/edgerun/logfile"
)

func TestParseRestartPolicy(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    RestartPolicy
		wantErr string
	}{
		{"", RestartPolicy{Name: "no"}, ""},
		{"no", RestartPolicy{Name: "no"}, ""},
		{"always", RestartPolicy{Name: "always"}, ""},
		{"unless-stopped", RestartPolicy{Name: "unless-stopped"}, ""},
		{"on-failure", RestartPolicy{Name: "on-failure"}, ""},
		{"on-failure:3", RestartPolicy{Name: "on-failure", Max: 3}, ""},
		{"on-failure:-1", RestartPolicy{}, "number >= 0"},
		{"on-failure:x", RestartPolicy{}, "number >= 0"},
		{"always:2", RestartPolicy{}, "only on-failure"},
		{"sometimes", RestartPolicy{}, "use no, on-failure"},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseRestartPolicy(c.in)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want one with %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestShouldRestart(t *testing.T) {
	for _, c := range []struct {
		policy        string
		code, done    int
		stoppedByUser bool
		want          bool
	}{
		{"no", 1, 0, false, false},
		{"always", 0, 100, false, true},
		{"always", 1, 0, true, false},
		{"unless-stopped", 0, 0, false, true},
		{"on-failure", 0, 0, false, false},
		{"on-failure", 2, 50, false, true},
		{"on-failure:3", 1, 2, false, true},
		{"on-failure:3", 1, 3, false, false},
		{"on-failure:3", 137, 0, true, false},
	} {
		p, err := ParseRestartPolicy(c.policy)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.shouldRestart(c.code, c.done, c.stoppedByUser); got != c.want {
			t.Errorf("%s, exit %d after %d restarts, stopped by user %v: restart %v, want %v", c.policy, c.code, c.done, c.stoppedByUser, got, c.want)
		}
	}
}

func TestNextBackoffDoublesCapsAndResets(t *testing.T) {
	for _, c := range []struct {
		last, ran, want time.Duration
	}{
		{0, 0, 100 * time.Millisecond},
		{100 * time.Millisecond, time.Second, 200 * time.Millisecond},
		{40 * time.Second, time.Second, time.Minute},
		{time.Minute, time.Second, time.Minute},
		{time.Minute, 10 * time.Second, 100 * time.Millisecond},
	} {
		if got := nextBackoff(c.last, c.ran); got != c.want {
			t.Errorf("nextBackoff(%v, ran %v) = %v, want %v", c.last, c.ran, got, c.want)
		}
	}
}

func TestParseLogOpts(t *testing.T) {
	for _, c := range []struct {
		in        []string
		size      int64
		files     int
		wantError bool
	}{
		{nil, logfile.DefaultMaxSize, logfile.DefaultMaxFile, false},
		{[]string{"max-size=10m,max-file=3"}, 10 << 20, 3, false},
		{[]string{"max-size=64k", "max-file=1"}, 64 << 10, 1, false},
		{[]string{"max-size=1k"}, 0, 0, true},
		{[]string{"max-file=0"}, 0, 0, true},
		{[]string{"mode=non-blocking"}, 0, 0, true},
		{[]string{"max-size"}, 0, 0, true},
	} {
		size, files, err := parseLogOpts(c.in)
		if (err != nil) != c.wantError || (err == nil && (size != c.size || files != c.files)) {
			t.Errorf("parseLogOpts(%q) = %d, %d, %v; want %d, %d, error %v", c.in, size, files, err, c.size, c.files, c.wantError)
		}
	}
}
