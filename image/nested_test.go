package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// nestedArchive is hostileArchive's image behind depth image indexes,
// each the only entry of the next; index.json lists the outermost.
func nestedArchive(t *testing.T, depth int) []byte {
	t.Helper()
	var extra []tarFile
	return hostileArchive(t, tweaks{
		index: func(i map[string]any) {
			d := topDesc(i)
			ann := d["annotations"]
			delete(d, "annotations")
			d["platform"] = map[string]string{"os": "linux", "architecture": "amd64"}
			for range depth {
				ib, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageIndex,
					"manifests": []any{d}})
				extra = append(extra, blobFile(ib))
				d = desc(ocispec.MediaTypeImageIndex, ib)
			}
			d["annotations"] = ann
			i["manifests"] = []any{d}
		},
		files: func(fs []tarFile) []tarFile { return append(fs, extra...) },
	})
}

func TestLoadNestedIndexes(t *testing.T) {
	amd64 := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	for _, depth := range []int{1, 3, maxIndexDepth} {
		s := newStore(t)
		got, err := s.Load(bg, "-", bytes.NewReader(nestedArchive(t, depth)), LoadOptions{Platform: amd64})
		if err != nil || len(got) != 1 || got[0].Names[0] != "docker.io/library/hostile:1" {
			t.Fatalf("image behind %d nested indexes: %+v, %v", depth, got, err)
		}
		assertClean(t, s)
	}
	for _, depth := range []int{maxIndexDepth + 1, 50} {
		s := newStore(t)
		_, err := s.Load(bg, "-", bytes.NewReader(nestedArchive(t, depth)), LoadOptions{Platform: amd64})
		if !errors.Is(err, ErrInvalidImage) || !strings.Contains(err.Error(), "nest more than 8 deep") {
			t.Fatalf("image behind %d nested indexes: %v, want ErrInvalidImage saying they nest too deep", depth, err)
		}
		assertClean(t, s)
		if n := blobCount(t, s); n != 0 {
			t.Fatalf("%d blobs stored from a refused input", n)
		}
	}
}
