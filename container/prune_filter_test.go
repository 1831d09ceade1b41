package container

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParsePruneFilter(t *testing.T) {
	now := time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)
	tests := []struct {
		in      []string
		want    PruneFilter
		wantErr string
	}{
		{in: nil, want: PruneFilter{}},
		{in: []string{"until=24h"}, want: PruneFilter{Until: now.Add(-24 * time.Hour)}},
		{in: []string{"until=2026-11-30T15:00:00Z"}, want: PruneFilter{Until: time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)}},
		{in: []string{"until=1796050800"}, want: PruneFilter{Until: time.Unix(1796050800, 0)}},
		{in: []string{"label=env", "label=tier=edge", "label!=keep"}, want: PruneFilter{
			With:    []LabelCond{{Key: "env"}, {Key: "tier", Value: "edge", HasValue: true}},
			Without: []LabelCond{{Key: "keep"}}}},
		{in: []string{"Label!=keep=yes"}, want: PruneFilter{Without: []LabelCond{{Key: "keep", Value: "yes", HasValue: true}}}},
		{in: []string{"until=1h", "until=2h"}, wantErr: "one until"},
		{in: []string{"until=yesterday"}, wantErr: "not a time"},
		{in: []string{"name=web"}, wantErr: "use until"},
		{in: []string{"label"}, wantErr: "use until"},
		{in: []string{"label="}, wantErr: "names a key"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.in), func(t *testing.T) {
			got, err := ParsePruneFilter(tt.in, now)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidFilter) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePruneFilter(%q) = %+v, %v; want an error saying %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Until.Equal(tt.want.Until) || !slices.Equal(got.With, tt.want.With) || !slices.Equal(got.Without, tt.want.Without) {
				t.Fatalf("ParsePruneFilter(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

// Match follows docker's prune: every label= must be there, and what has
// every label!= is kept; until keeps what is not older.
func TestPruneFilterMatch(t *testing.T) {
	now := time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)
	old, recent := now.Add(-48*time.Hour), now.Add(-time.Minute)
	labels := map[string]string{"env": "test", "tier": "edge"}
	tests := []struct {
		name    string
		filter  []string
		created time.Time
		labels  map[string]string
		want    bool
	}{
		{"no filter", nil, recent, nil, true},
		{"older than until", []string{"until=24h"}, old, nil, true},
		{"newer than until", []string{"until=24h"}, recent, nil, false},
		{"no time known", []string{"until=24h"}, time.Time{}, nil, true},
		{"label key", []string{"label=env"}, recent, labels, true},
		{"label value", []string{"label=env=test"}, recent, labels, true},
		{"label other value", []string{"label=env=prod"}, recent, labels, false},
		{"every label", []string{"label=env", "label=owner"}, recent, labels, false},
		{"label missing", []string{"label=env"}, recent, nil, false},
		{"without label it has", []string{"label!=tier"}, recent, labels, false},
		{"without label it lacks", []string{"label!=owner"}, recent, labels, true},
		{"without, only some present", []string{"label!=tier", "label!=owner"}, recent, labels, true},
		{"without, all present", []string{"label!=tier", "label!=env=test"}, recent, labels, false},
		{"label and until", []string{"label=env", "until=24h"}, old, labels, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ParsePruneFilter(tt.filter, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Match(tt.created, tt.labels); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}
