package image

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Annotations naming an image inside an OCI layout.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// ParseReference normalises an image reference the way docker users expect:
// busybox → docker.io/library/busybox:latest, sensor:1.2 →
// docker.io/library/sensor:1.2; a registry and an @digest are kept.
func ParseReference(s string) (string, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w: use [registry/]name[:tag][@sha256:digest]", s, err)
	}
	repo := ref.Context()
	reg := repo.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	base := reg + "/" + repo.RepositoryStr()
	switch r := ref.(type) {
	case name.Digest:
		return base + "@" + r.DigestStr(), nil
	case name.Tag:
		return base + ":" + r.TagStr(), nil
	}
	return "", fmt.Errorf("invalid image reference %q: neither tag nor digest", s)
}

// annotatedName returns the normalised name in a layout's descriptor
// annotations, or "" if it has none.
func annotatedName(ann map[string]string) (string, error) {
	n := strings.TrimSpace(ann[annotationContainerdName])
	if n == "" {
		n = strings.TrimSpace(ann[annotationRefName])
	}
	if n == "" {
		return "", nil
	}
	ref, err := ParseReference(n)
	if err != nil {
		return "", fmt.Errorf("%w: image name annotation: %w", ErrInvalidImage, err)
	}
	return ref, nil
}
