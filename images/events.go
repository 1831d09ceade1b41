package images

import (
	"maps"
	"strconv"
	"strings"

	digest "github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/events"
	"github.com/edgerun/edgerun/image"
)

// event appends an image event about id (the image's ID, or for a pull
// the reference pulled) with docker's attributes: the image's labels
// (when img is known) and name. It never fails the caller.
func (s *Store) event(action, id, name string, img *image.Image) {
	if s.journal == nil {
		return
	}
	attrs := map[string]string{}
	if img != nil {
		maps.Copy(attrs, img.Config.Config.Labels)
	}
	attrs["name"] = name
	s.journal.Append(events.New(events.Image, action, id, attrs))
}

// eventName is how an image event names an image: its first name as
// docker prints it, else its ID.
func eventName(names []string, d digest.Digest) string {
	if len(names) > 0 {
		return image.FamiliarName(names[0])
	}
	return d.String()
}

// familiarRepo is a reference without its tag or digest, as docker
// prints it: docker.io/library/busybox:latest → busybox.
func familiarRepo(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return image.FamiliarName(ref)
}

// removed appends the events of what Remove reported: untag for each
// name (of the image img, resolved before the removal), delete for the
// image.
func (s *Store) removed(img *image.Image, lines []string) {
	for _, l := range lines {
		if n, ok := strings.CutPrefix(l, "Untagged: "); ok && img != nil {
			s.event("untag", img.Digest.String(), image.FamiliarName(n), img)
		}
		if d, ok := strings.CutPrefix(l, "Deleted: "); ok {
			s.event("delete", d, d, img)
		}
	}
}

// pruned appends docker's prune event: what the prune freed.
func (s *Store) pruned(freed int64) {
	if s.journal != nil {
		s.journal.Append(events.New(events.Image, "prune", "", map[string]string{"reclaimed": strconv.FormatInt(freed, 10)}))
	}
}
