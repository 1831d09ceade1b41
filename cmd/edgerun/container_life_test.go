package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseTimeReadsTimesDurationsAndUnixSeconds(t *testing.T) {
	now := time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "", want: time.Time{}},
		{in: "10m", want: now.Add(-10 * time.Minute)},
		{in: "2026-11-30T15:00:00Z", want: time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)},
		{in: "2026-11-30T15:00:00.25+01:00", want: time.Date(2026, 11, 30, 14, 0, 0, 250e6, time.UTC)},
		{in: "1796050800", want: time.Unix(1796050800, 0)},
		{in: "1796050800.000000001", want: time.Unix(1796050800, 1)},
		{in: "1.5", want: time.Unix(1, 5e8)},
		{in: "0", want: time.Unix(0, 0)}, // docker's: Unix 0, not now
		{in: "-10s", want: now.Add(10 * time.Second)},
		{in: "2026-11-30T16:00", want: time.Date(2026, 11, 30, 16, 0, 0, 0, time.Local)}, // not Unix second 2026
		{in: "2026-11-30T16:00Z", want: time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)},
		{in: "2026-11-30", want: time.Date(2026, 11, 30, 0, 0, 0, 0, time.Local)},
		{in: "12abc", wantErr: true},
		{in: "1.5.2", wantErr: true},
		{in: "1.1234567890", wantErr: true},
		{in: "1.-5", wantErr: true},
		{in: "+1", wantErr: true},
		{in: "yesterday", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseTime("--since", tt.in, now)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "--since") {
					t.Fatalf("parseTime(%q) = %v, %v; want an error naming the flag", tt.in, got, err)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("parseTime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
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
