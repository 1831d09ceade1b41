package main

import (
	"slices"
	"testing"

	"github.com/edgerun/edgerun/images"
)

func TestImagesArgumentSelectsRepositoryAndTag(t *testing.T) {
	imgs := []images.Summary{
		{Name: "docker.io/library/busybox:latest"},
		{Name: "docker.io/library/busybox:1.36"},
		{Name: "localhost:5000/sensor:v2"},
		{Name: "localhost:5000/sensor@sha256:2f26"},
		{Name: "ghcr.io/acme/busybox-extra:1"},
	}
	tests := []struct {
		arg  string
		want []string
	}{
		{"busybox", []string{"docker.io/library/busybox:latest", "docker.io/library/busybox:1.36"}},
		{"busybox:1.36", []string{"docker.io/library/busybox:1.36"}},
		{"docker.io/library/busybox:latest", []string{"docker.io/library/busybox:latest"}},
		{"localhost:5000/sensor", []string{"localhost:5000/sensor:v2", "localhost:5000/sensor@sha256:2f26"}},
		{"localhost:5000/sensor:v*", []string{"localhost:5000/sensor:v2"}},
		{"ghcr.io/acme/*", []string{"ghcr.io/acme/busybox-extra:1"}},
		{"nosuch", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, i := range filterImages(imgs, tt.arg) {
			got = append(got, i.Name)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("images %s: %q, want %q", tt.arg, got, tt.want)
		}
	}
}
