package image

import (
	"reflect"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func inspectFixture() *Image {
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	img := &Image{
		Names:  []string{"docker.io/library/sensor:1.2", "docker.io/library/sensor:latest", "localhost:5000/team/sensor:v1", "docker.io/library/sensor@sha256:" + digest.FromString("x").Encoded()},
		Digest: digest.FromString("manifest"),
		Manifest: ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Layers: []ocispec.Descriptor{
			{Digest: digest.FromString("l1"), Size: 100}, {Digest: digest.FromString("l2"), Size: 20},
		}},
		ConfigDigest: digest.FromString("config"),
		Size:         130,
		Created:      t1,
	}
	img.Config.Architecture, img.Config.OS, img.Config.Variant = "arm", "linux", "v7"
	img.Config.Config.Cmd = []string{"/bin/sensor"}
	img.Config.Config.StopSignal = "SIGINT"
	img.Config.RootFS = ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString("d1"), digest.FromString("d2")}}
	img.Config.History = []ocispec.History{
		{Created: &t0, CreatedBy: "ADD rootfs.tar /"},
		{Created: &t0, CreatedBy: "ENV A=b", EmptyLayer: true},
		{Created: &t1, CreatedBy: "COPY sensor /bin/", Comment: "buildkit"},
	}
	return img
}

func TestInspectDocument(t *testing.T) {
	img := inspectFixture()
	doc := InspectDocument(img)
	if doc.ID != img.Digest.String() || doc.Created != "2024-05-01T11:00:00Z" || doc.Os != "linux" || doc.Variant != "v7" {
		t.Fatalf("doc = %+v", doc)
	}
	wantTags := []string{"sensor:1.2", "sensor:latest", "localhost:5000/team/sensor:v1"}
	if !reflect.DeepEqual(doc.RepoTags, wantTags) {
		t.Errorf("RepoTags = %q, want %q", doc.RepoTags, wantTags)
	}
	wantDigests := []string{"sensor@" + img.Digest.String(), "localhost:5000/team/sensor@" + img.Digest.String()}
	if !reflect.DeepEqual(doc.RepoDigests, wantDigests) {
		t.Errorf("RepoDigests = %q, want %q", doc.RepoDigests, wantDigests)
	}
	if doc.Config.StopSignal != "SIGINT" || !reflect.DeepEqual(doc.Config.Cmd, []string{"/bin/sensor"}) || doc.Comment != "buildkit" {
		t.Errorf("Config = %+v, Comment %q", doc.Config, doc.Comment)
	}
	if len(doc.RootFS.Layers) != 2 || doc.RootFS.Type != "layers" {
		t.Errorf("RootFS = %+v", doc.RootFS)
	}
}

func TestHistory(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Image)
		wantBy  []string
		wantSz  []int64
		wantIDs int
	}{
		{"from the config", func(*Image) {}, []string{"COPY sensor /bin/", "ENV A=b", "ADD rootfs.tar /"}, []int64{20, 0, 100}, 1},
		{"no history", func(i *Image) { i.Config.History = nil }, []string{"", ""}, []int64{20, 100}, 1},
		{"history shorter than the layers", func(i *Image) { i.Config.History = i.Config.History[:1] }, []string{"", "ADD rootfs.tar /"}, []int64{20, 100}, 1},
		{"no layers, no history", func(i *Image) { i.Config.History, i.Manifest.Layers = nil, nil }, nil, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := inspectFixture()
			tt.edit(img)
			h := History(img)
			var by []string
			var sz []int64
			ids := 0
			for _, e := range h {
				by, sz = append(by, e.CreatedBy), append(sz, e.Size)
				if e.ID != "" {
					ids++
				}
			}
			if !reflect.DeepEqual(by, tt.wantBy) || !reflect.DeepEqual(sz, tt.wantSz) || ids != tt.wantIDs {
				t.Fatalf("History = %+v; want created-by %q, sizes %v", h, tt.wantBy, tt.wantSz)
			}
			if len(h) > 0 && h[0].ID != img.Digest.String() {
				t.Fatalf("newest row's ID %q, want the image's", h[0].ID)
			}
		})
	}
}
