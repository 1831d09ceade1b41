package restart

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    Policy
		wantErr string
	}{
		{"", Policy{Name: "no"}, ""},
		{"no", Policy{Name: "no"}, ""},
		{"always", Policy{Name: "always"}, ""},
		{"unless-stopped", Policy{Name: "unless-stopped"}, ""},
		{"on-failure", Policy{Name: "on-failure"}, ""},
		{"on-failure:3", Policy{Name: "on-failure", Max: 3}, ""},
		{"on-failure:-1", Policy{}, "number >= 0"},
		{"on-failure:x", Policy{}, "number >= 0"},
		{"always:2", Policy{}, "only on-failure"},
		{"sometimes", Policy{}, "use no, on-failure"},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := Parse(c.in)
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
		p, err := Parse(c.policy)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.ShouldRestart(c.code, c.done, c.stoppedByUser); got != c.want {
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
		if got := NextBackoff(c.last, c.ran); got != c.want {
			t.Errorf("NextBackoff(%v, ran %v) = %v, want %v", c.last, c.ran, got, c.want)
		}
	}
}
