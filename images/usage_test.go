package images

import (
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/edgerun/edgerun/image"
)

// testImage is an image of the given layers: blob digests "blob-<l>",
// diff IDs "diff-<l>".
func testImage(name string, layers ...string) *image.Image {
	img := &image.Image{Names: []string{name}, Digest: digest.FromString("manifest-" + name), ConfigDigest: digest.FromString("config-" + name)}
	for _, l := range layers {
		img.Manifest.Layers = append(img.Manifest.Layers, ocispec.Descriptor{Digest: digest.FromString("blob-" + l)})
		img.Config.RootFS.DiffIDs = append(img.Config.RootFS.DiffIDs, digest.FromString("diff-"+l))
	}
	return img
}

func TestUsageCountsSharedLayersOnce(t *testing.T) {
	base, app, other := testImage("base", "os"), testImage("app", "os", "app"), testImage("other", "tool")
	blobs := map[digest.Digest]int64{}
	layers := map[digest.Digest]int64{}
	for _, img := range []*image.Image{base, app, other} {
		blobs[img.Digest], blobs[img.ConfigDigest] = 1, 10
	}
	blobs[digest.FromString("blob-os")], layers[digest.FromString("diff-os")] = 100, 300
	blobs[digest.FromString("blob-app")], layers[digest.FromString("diff-app")] = 20, 50
	blobs[digest.FromString("blob-tool")], layers[digest.FromString("diff-tool")] = 7, 9
	blobs[digest.FromString("orphan")] = 1000 // no image needs it: image prune's

	tests := []struct {
		name            string
		opts            UsageOptions
		wantReclaimable int64
	}{
		{"nothing in use", UsageOptions{}, 1000 + 3*11 + 100 + 300 + 20 + 50 + 7 + 9},
		// app in use keeps its own parts and the shared base layer; base's
		// manifest and config, other and the orphan can go.
		{"app in use", UsageOptions{Containers: map[digest.Digest]int{app.Digest: 2}}, 1000 + 11 + 11 + 7 + 9},
		// a container of a removed image keeps its unpacked layers only.
		{"container layers", UsageOptions{ContainerLayers: []digest.Digest{digest.FromString("diff-tool")}}, 1000 + 3*11 + 100 + 300 + 20 + 50 + 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := usage([]*image.Image{base, app, other}, blobs, layers, tt.opts)
			if want := int64(1000 + 3*11 + 100 + 300 + 20 + 50 + 7 + 9); u.Size != want {
				t.Errorf("Size = %d, want %d (each blob and layer once)", u.Size, want)
			}
			if u.Reclaimable != tt.wantReclaimable {
				t.Errorf("Reclaimable = %d, want %d", u.Reclaimable, tt.wantReclaimable)
			}
			byName := map[string]ImageUsage{}
			for _, iu := range u.Images {
				byName[iu.Names[0]] = iu
			}
			want := map[string][2]int64{ // size, shared size
				"base":  {11 + 100 + 300, 400},
				"app":   {11 + 100 + 300 + 20 + 50, 400},
				"other": {11 + 7 + 9, 0},
			}
			for n, w := range want {
				if got := byName[n]; got.Size != w[0] || got.SharedSize != w[1] {
					t.Errorf("%s: size %d shared %d, want %d and %d", n, got.Size, got.SharedSize, w[0], w[1])
				}
			}
			if byName["app"].Containers != tt.opts.Containers[app.Digest] {
				t.Errorf("app: %d containers, want %d", byName["app"].Containers, tt.opts.Containers[app.Digest])
			}
		})
	}
}
