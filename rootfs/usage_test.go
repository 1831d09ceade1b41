package rootfs

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

func TestUsageCountsFileBytes(t *testing.T) {
	c, err := OpenCache(filepath.Join(t.TempDir(), "layers"), CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	tests := []struct {
		name  string
		layer Layer
		want  int64
	}{
		{"files", testLayer(t, &opens, dir("etc"), file("etc/a", "12345"), file("etc/b", "678")), 8},
		{"hard link once, symlink target", testLayer(t, &opens, file("x", "abcd"), hardlink("y", "x"), symlink("z", "x")), 5},
		{"directories only", testLayer(t, &opens, dir("empty"), dir("empty/sub")), 0},
	}
	for _, tt := range tests {
		if _, err := c.Ensure(context.Background(), []Layer{tt.layer}); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
	}
	got, err := c.Usage()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n, ok := got[tt.layer.DiffID]; !ok || n != tt.want {
				t.Errorf("Usage()[%s] = %d, %v; want %d", tt.layer.DiffID, n, ok, tt.want)
			}
			if n := TreeSize(c.Dir(tt.layer.DiffID)); n != tt.want {
				t.Errorf("TreeSize = %d, want %d (the marker's count)", n, tt.want)
			}
		})
	}
}

// A layer unpacked before markers recorded FileBytes is measured on disk.
func TestUsageWalksOldMarkers(t *testing.T) {
	c, err := OpenCache(filepath.Join(t.TempDir(), "layers"), CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var opens atomic.Int32
	l := testLayer(t, &opens, file("data", "0123456789"))
	if _, err := c.Ensure(context.Background(), []Layer{l}); err != nil {
		t.Fatal(err)
	}
	old, err := json.Marshal(map[string]any{"DiffID": l.DiffID, "Files": 1})
	if err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(filepath.Dir(c.Dir(l.DiffID)), completeName)
	if err := os.WriteFile(marker, old, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := c.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if got[l.DiffID] != 10 {
		t.Fatalf("Usage of an old marker's layer = %d, want 10 (walked)", got[l.DiffID])
	}
	if _, ok := got[digest.FromString("absent")]; ok {
		t.Fatal("Usage lists a layer that is not there")
	}
}
