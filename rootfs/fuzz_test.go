package rootfs

import (
	"bytes"
	"context"
	"testing"
)

// FuzzUnpack feeds arbitrary streams (seeded with the hostile cases) to
// Unpack and checks that nothing outside dst changed, whatever the outcome.
func FuzzUnpack(f *testing.F) {
	seedBox := newSandbox(f)
	for _, tc := range hostileCases() {
		if b := tc.blob(f, seedBox); len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSandbox(t)
		before := s.snapshot(t)
		_, _ = Unpack(context.Background(), bytes.NewReader(data), s.dst, UnpackOptions{MaxBytes: 1 << 20, MaxEntries: 200})
		if after := s.snapshot(t); after != before {
			t.Fatalf("unpack changed files outside dst:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}
