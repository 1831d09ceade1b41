package sigpolicy

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestIdentityRules(t *testing.T) {
	const dg = "@sha256:ab"
	tests := []struct {
		identity, ref, signed string
		ok                    bool
	}{
		// matchRepoDigestOrExact, the default: a tag exactly, a digest by repository.
		{``, "r.local/app:1", "r.local/app:1", true},
		{``, "r.local/app:1", "r.local/app:2", false},
		{``, "r.local/app" + dg, "r.local/app:2", true},
		{``, "r.local/app" + dg, "r.local/other:1", false},
		{`{"type":"matchRepoDigestOrExact"}`, "r.local/app:1", "r.local/app:1", true},
		{`{"type":"matchExact"}`, "r.local/app" + dg, "r.local/app:2", false},
		{`{"type":"matchExact"}`, "r.local/app:1", "r.local/app:1", true},
		{`{"type":"matchRepository"}`, "r.local/app:1", "r.local/app:2", true},
		{`{"type":"matchRepository"}`, "r.local/app:1", "r.local/app2:1", false},
		{`{"type":"matchRepository"}`, "docker.io/library/busybox:latest", "busybox:1", true},
		{`{"type":"exactReference","dockerReference":"r.local/app:signed"}`, "m.local/x:1", "r.local/app:signed", true},
		{`{"type":"exactReference","dockerReference":"r.local/app:signed"}`, "m.local/x:1", "r.local/app:1", false},
		{`{"type":"exactRepository","dockerRepository":"r.local/app"}`, "m.local/x:1", "r.local/app:7", true},
		{`{"type":"exactRepository","dockerRepository":"r.local/app"}`, "m.local/x:1", "r.local/other:7", false},
		// remapIdentity: the mirror's name is mapped to the signed one.
		{`{"type":"remapIdentity","prefix":"mirror.local:5000/fleet","signedPrefix":"r.local"}`, "mirror.local:5000/fleet/app:1", "r.local/app:1", true},
		{`{"type":"remapIdentity","prefix":"mirror.local:5000/fleet","signedPrefix":"r.local"}`, "mirror.local:5000/fleet/app:1", "r.local/app:2", false},
		{`{"type":"remapIdentity","prefix":"mirror.local:5000/fleet","signedPrefix":"r.local"}`, "mirror.local:5000/fleet/app" + dg, "r.local/app:2", true},
		{`{"type":"remapIdentity","prefix":"mirror.local:5000/fleet","signedPrefix":"r.local"}`, "mirror.local:5000/fleets/app:1", "r.local/s/app:1", false},
		{`{"type":"remapIdentity","prefix":"mirror.local","signedPrefix":"r.local"}`, "mirror.local:5000/app:1", "r.local:5000/app:1", false},
		{`{"type":"remapIdentity","prefix":"mirror.local","signedPrefix":"r.local"}`, "mirror.local/app:1", "mirror.local/app:1", false},
	}
	for _, tc := range tests {
		id, err := parseIdentity(json.RawMessage(tc.identity))
		if err != nil {
			t.Fatalf("%s: %v", tc.identity, err)
		}
		err = id.Match(tc.ref, tc.signed)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrIdentityMismatch)) {
			t.Errorf("%s: image %s, signed %s: %v, want accepted=%v", tc.identity, tc.ref, tc.signed, err, tc.ok)
		}
	}
}
