package main

import (
	"testing"
	"time"
)

func TestParseSinceReadsTimesDurationsAndUnixSeconds(t *testing.T) {
	now := time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "", want: time.Time{}},
		{in: "10m", want: now.Add(-10 * time.Minute)},
		{in: "2026-11-30T15:00:00Z", want: time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)},
		{in: "1796050800", want: time.Unix(1796050800, 0)},
		{in: "2026-11-30T16:00", wantErr: true}, // no seconds: not Unix second 2026
		{in: "12abc", wantErr: true},
		{in: "1.5", wantErr: true},
		{in: "yesterday", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseTimeFlag("since", tt.in, now)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseTimeFlag(since, %q) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("parseTimeFlag(since, %q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestStopTimeoutRefusesNegativeSeconds(t *testing.T) {
	tests := []struct {
		secs    int
		want    time.Duration
		wantErr bool
	}{
		{secs: 0, want: 0},
		{secs: 10, want: 10 * time.Second},
		{secs: -1, wantErr: true},
	}
	for _, tt := range tests {
		got, err := stopTimeout(tt.secs)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("stopTimeout(%d) = %v, %v; want %v, error %v", tt.secs, got, err, tt.want, tt.wantErr)
		}
	}
}
