package images

import (
	"fmt"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/rootfs"
)

// anyMissing reports whether a layer of diffIDs is not unpacked yet: an
// unpack that publishes one says what it could not keep (noteOwners).
func (s *Store) anyMissing(diffIDs []digest.Digest) bool {
	for _, d := range diffIDs {
		if !s.layers.Has(d) {
			return true
		}
	}
	return false
}

// noteOwners tells the user, once per image, how many of its files have
// owners this user namespace does not map (rootless with the single-ID
// mapping, or IDs beyond the subordinate ranges): they belong to root
// instead (rootfs's # Privileges).
func (s *Store) noteOwners(name string, diffIDs []digest.Digest) {
	if s.notice == nil {
		return
	}
	var n, setID int
	for _, d := range diffIDs {
		st, err := s.layers.Stats(d)
		if err != nil {
			continue // not unpacked: nothing to say about it
		}
		n, setID = n+st.Unmapped, setID+st.UnmappedSetID
	}
	if n == 0 {
		return
	}
	if rootfs.Privileged() {
		s.notice(fmt.Sprintf("image %s: root owns %s whose owner or group ID no Linux system has (4294967295 or more)",
			name, plural(n, "file")))
		return
	}
	maps := "only some IDs"
	if m, err := rootfs.ReadIDMap(); err == nil {
		maps = "only " + m.Describe()
	}
	msg := fmt.Sprintf("image %s: root owns %s that other users own in the image: this user namespace maps %s",
		name, plural(n, "file"), maps)
	if setID > 0 {
		msg += fmt.Sprintf("; %d of them lost setuid or setgid with it", setID)
	}
	s.notice(msg + ". To keep their owners, give your user subordinate IDs that cover them (edgerun doctor says how)")
}

// imageName is how a note names img: its first name, docker-style short,
// else its short ID.
func imageName(names []string, d digest.Digest) string {
	if len(names) == 0 {
		return d.Encoded()[:12]
	}
	n := strings.TrimPrefix(names[0], "docker.io/")
	return strings.TrimPrefix(n, "library/")
}

// layerIDs are the diff IDs of img's layers, bottom first.
func (s *Store) layerIDs(img *image.Image) []digest.Digest {
	layers := s.content.Layers(img)
	ids := make([]digest.Digest, len(layers))
	for i, l := range layers {
		ids[i] = l.DiffID
	}
	return ids
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
