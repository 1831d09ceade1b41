package oci

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadBundle feeds arbitrary config.json documents to LoadBundle: it
// returns a checked bundle or an ErrInvalidBundle, never panics, and a
// bundle it accepts has a root file system inside the bundle.
func FuzzLoadBundle(f *testing.F) {
	f.Add([]byte(`{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["sh"],"cwd":"/"},"linux":{}}`))
	f.Add([]byte(`{"ociVersion":"1.3.0","root":{"path":"../rootfs"},"process":{"args":["sh"],"cwd":"/"},"linux":{}}`))
	f.Add([]byte(`{"ociVersion":"1.0.0","hooks":{"prestart":[{"path":"/bin/true","timeout":-1}]}}`))
	f.Add([]byte(`{"ociVersion":"1.0.0","process":{"terminal":true,"consoleSize":{"height":70000}}}`))
	dir := f.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := LoadBundle(dir)
		if err != nil {
			return
		}
		if b.Spec == nil || b.Spec.Process == nil || b.Rootfs == "" {
			t.Fatalf("accepted a bundle without spec, process or root: %+v", b)
		}
	})
}
