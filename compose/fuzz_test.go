package compose

import (
	"errors"
	"testing"
)

// FuzzParse: Parse never panics, and an error is always an *Error that
// matches ErrInvalid; a file it accepts has services in a start order
// and digests.
func FuzzParse(f *testing.F) {
	f.Add(oneService("ports: ['8080:80', '[::1]::90/udp']\nvolumes: ['data:/d:ro', './x:/x']\ncommand: sh -c 'a \"b\"'"))
	f.Add(oneService("environment: [A=${X:-y}, B=$$C]\nhealthcheck: {test: [CMD, x], interval: 1m}\ndepends_on: {d: {condition: service_healthy}}"))
	f.Add(oneService("labels: {a: b}\nmem_limit: 1g\ncpus: 0.5\nlogging: {options: {max-size: 1m}}"))
	f.Add(bomb("labels"))
	f.Add(mergeBomb())
	f.Add("x-a: &a {image: x}\nservices:\n  s: {<<: *a}\n  t: {<<: [*a], depends_on: [s]}\n")
	f.Fuzz(func(t *testing.T, data string) {
		p, err := Parse("services.yaml", []byte(data), "/base", env)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v (%T) is not an *Error matching ErrInvalid", err, err)
			}
			return
		}
		if _, err := p.Order(); err != nil {
			t.Fatalf("Order of a parsed file: %v", err)
		}
		for _, s := range p.Services {
			_ = s.Digest()
		}
	})
}
