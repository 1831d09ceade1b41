package image

import (
	"bytes"
	"context"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// FuzzLoadArchive feeds arbitrary bytes to archive detection and import.
// Whatever the input, Load must not panic, and when it fails the store
// must show no blob and no image.
func FuzzLoadArchive(f *testing.F) {
	f.Add(hostileArchive(f, tweaks{}))
	f.Add(dockerSave(f, map[string]v1.Image{"a:1": testImage(f, "linux/amd64")}))
	f.Add(tarDir(f, layoutDirWith(f, layoutItem{img: testImage(f, "linux/arm/v7"), ann: refName("b")}), true, true))
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Open(t.TempDir(), StoreOptions{JSONLimit: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Load(context.Background(), "-", bytes.NewReader(data), LoadOptions{})
		if err == nil {
			return
		}
		if n := blobCount(t, s); n != 0 {
			t.Fatalf("%d blobs visible after failed load: %v", n, err)
		}
		if imgs, _ := s.List(); len(imgs) != 0 {
			t.Fatalf("images listed after failed load: %v", err)
		}
		assertClean(t, s)
	})
}
