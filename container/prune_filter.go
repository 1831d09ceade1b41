package container

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PruneFilter is the --filter of the prune commands, docker's: until=T
// keeps what was created at or after T; label=K / label=K=V removes only
// what has every such label; label!=K / label!=K=V keeps what has every
// such label. The zero value matches everything.
type PruneFilter struct {
	Until   time.Time
	With    []LabelCond // label=
	Without []LabelCond // label!=
}

// LabelCond is one label of a filter: a key, with a value when HasValue.
type LabelCond struct {
	Key, Value string
	HasValue   bool
}

// pruneFilterKeys are the keys prune commands take.
var pruneFilterKeys = []string{"until", "label", "label!"}

// ParsePruneFilter reads --filter values (KEY=VALUE, keys until, label and
// label!); a duration in until counts back from now. Errors wrap
// ErrInvalidFilter.
func ParsePruneFilter(values []string, now time.Time) (PruneFilter, error) {
	var f PruneFilter
	for _, v := range values {
		k, val, ok := strings.Cut(v, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		if strings.HasSuffix(k, "!") {
			k = strings.TrimSpace(strings.TrimSuffix(k, "!")) + "!"
		}
		if !ok || !slices.Contains(pruneFilterKeys, k) {
			return f, fmt.Errorf("%w %q: use until=TIME, label=KEY[=VALUE] or label!=KEY[=VALUE]", ErrInvalidFilter, v)
		}
		switch k {
		case "until":
			if !f.Until.IsZero() {
				return f, fmt.Errorf("%w %q: give one until filter", ErrInvalidFilter, v)
			}
			t, err := ParseTime(val, now)
			if err != nil {
				return f, fmt.Errorf("%w %q: %w", ErrInvalidFilter, v, err)
			}
			f.Until = t
		default:
			key, value, has := strings.Cut(val, "=")
			if key == "" {
				return f, fmt.Errorf("%w %q: a label filter names a key: %s=KEY[=VALUE]", ErrInvalidFilter, v, k)
			}
			c := LabelCond{Key: key, Value: value, HasValue: has}
			if k == "label" {
				f.With = append(f.With, c)
			} else {
				f.Without = append(f.Without, c)
			}
		}
	}
	return f, nil
}

// IsZero says whether the filter keeps nothing back.
func (f PruneFilter) IsZero() bool {
	return f.Until.IsZero() && len(f.With) == 0 && len(f.Without) == 0
}

// Match says whether something created at created with labels may be
// pruned. A zero created time passes until (nothing says it is newer).
func (f PruneFilter) Match(created time.Time, labels map[string]string) bool {
	if !f.Until.IsZero() && !created.IsZero() && !created.Before(f.Until) {
		return false
	}
	if !allLabels(f.With, labels) {
		return false
	}
	return len(f.Without) == 0 || !allLabels(f.Without, labels)
}

// allLabels says whether labels has every condition's label.
func allLabels(conds []LabelCond, labels map[string]string) bool {
	for _, c := range conds {
		v, ok := labels[c.Key]
		if !ok || c.HasValue && v != c.Value {
			return false
		}
	}
	return true
}

// ParseTime reads a time as docker's --since and until take it: a Go
// duration before now (10m, 1h30m), an RFC 3339 time, a date and time
// without a zone (local time), a date, or Unix seconds.
func ParseTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	// The whole argument: Sscan would read 2026 out of 2026-11-30T16:00.
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(secs, 0), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-30T16:00:00Z), a duration ago (10m) or Unix seconds", s)
}
