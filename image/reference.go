package image

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Annotations naming an image inside an OCI layout.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

// Docker's reference grammar (distribution/reference), which RepoTags
// follow. go-containerregistry's own parsing takes "..", "." and "" as
// path components, "-x" and "x." as names, and ".." as a registry, so an
// image could be named "../../../etc/evil".
var (
	pathComponent   = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	domainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	registryName    = regexp.MustCompile(`^(?:` + domainComponent + `(?:\.` + domainComponent + `)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$`)
)

// maxNameLength is docker's NameTotalLengthMax: registry and repository.
const maxNameLength = 255

// ParseReference normalises an image reference the way docker users expect:
// busybox → docker.io/library/busybox:latest, sensor:1.2 →
// docker.io/library/sensor:1.2; a registry and an @digest are kept. It
// accepts what docker accepts: lowercase path components of letters and
// digits joined by ".", "_", "__" or dashes; a registry of DNS labels or
// a bracketed IPv6 address, with an optional port.
func ParseReference(s string) (string, error) {
	ref, err := name.ParseReference(s)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w: use [registry/]name[:tag][@sha256:digest]", s, err)
	}
	repo := ref.Context()
	reg := repo.RegistryStr()
	if err := checkName(reg, repo.RepositoryStr()); err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w: use [registry/]name[:tag][@sha256:digest]", s, err)
	}
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

// checkName applies docker's grammar to a parsed registry and repository.
func checkName(reg, repo string) error {
	if !registryName.MatchString(reg) {
		return fmt.Errorf("registry %q is not a host name or [IPv6 address] with an optional port", reg)
	}
	for _, c := range strings.Split(repo, "/") {
		if !pathComponent.MatchString(c) {
			return fmt.Errorf("name component %q is not lowercase letters and digits joined by '.', '_', '__' or '-'", c)
		}
	}
	if n := len(reg) + 1 + len(repo); n > maxNameLength {
		return fmt.Errorf("the name is %d characters long, more than %d", n, maxNameLength)
	}
	return nil
}

// annotatedName returns the normalised name in a layout's descriptor
// annotations, or "" if it has none.
func annotatedName(ann map[string]string) (string, error) {
	n := strings.TrimSpace(ann[annotationContainerdName])
	if n == "" {
		n = strings.TrimSpace(ann[annotationRefName])
		if tagOnly(n) {
			return "", nil
		}
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

// tagOnly reports whether an OCI layout's ref.name is a tag and no image
// name: the image layout spec's ref.name is often only the tag (skopeo's
// oci:DIR:TAG, docker save's ref.name beside io.containerd.image.name), so
// a bare "latest", a version ("1.36", "v2") or a word with capitals (which
// names never have) names no image. Another bare word ("busybox") is taken
// as a name, tagged latest, as before.
func tagOnly(ref string) bool {
	if ref == "" || strings.ContainsAny(ref, "/:@") {
		return false
	}
	c := ref[0]
	return ref == "latest" || (c >= '0' && c <= '9') ||
		(c == 'v' && len(ref) > 1 && ref[1] >= '0' && ref[1] <= '9') || strings.ToLower(ref) != ref
}

// layoutTag is the tag an OCI layout's descriptor gives without a name
// (see tagOnly), or "".
func layoutTag(ann map[string]string) string {
	if strings.TrimSpace(ann[annotationContainerdName]) != "" {
		return ""
	}
	if n := strings.TrimSpace(ann[annotationRefName]); tagOnly(n) {
		return n
	}
	return ""
}
