package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseTime reads a time flag (logs --since, events --since and --until)
// as docker's CLI does: an RFC 3339 time (a date, or a time without its
// zone, is local), a Go duration before now (10m, 1h30m), or Unix seconds
// with an optional fraction (1796050800, 1796050800.5). "0" is Unix 0,
// not now, as in docker.
func parseTime(flag, s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil && s != "0" {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15Z07:00", "2006-01-02Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02T15", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	if t, ok := unixTime(s); ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s %q: give a time (2026-11-30T16:00:00Z), a duration before now (10m) or Unix seconds", flag, s)
}

// unixTime reads SECONDS[.FRACTION], the whole argument (Sscan would read
// 2026 out of 2026-11-30T16:00).
func unixTime(s string) (time.Time, bool) {
	secs, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secs, 10, 64)
	if err != nil || strings.HasPrefix(secs, "+") || len(frac) > 9 {
		return time.Time{}, false
	}
	var nsec int64
	if frac != "" {
		if nsec, err = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64); err != nil || nsec < 0 || strings.HasPrefix(frac, "+") {
			return time.Time{}, false
		}
	}
	return time.Unix(sec, nsec), true
}
