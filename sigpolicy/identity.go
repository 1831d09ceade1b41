package sigpolicy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// signedIdentity types of containers-policy.json(5).
const (
	MatchRepoDigestOrExact = "matchRepoDigestOrExact" // the default
	MatchExact             = "matchExact"
	MatchRepository        = "matchRepository"
	ExactReference         = "exactReference"
	ExactRepository        = "exactRepository"
	RemapIdentity          = "remapIdentity"
)

// Identity is a sigstoreSigned requirement's signedIdentity: which
// docker-reference in a signature is accepted for an image.
type Identity struct {
	Type             string
	DockerReference  string // exactReference
	DockerRepository string // exactRepository
	Prefix           string // remapIdentity: the image's prefix...
	SignedPrefix     string // ...and what the signature says instead
}

func parseIdentity(b json.RawMessage) (Identity, error) {
	if len(b) == 0 || string(b) == "null" {
		return Identity{Type: MatchRepoDigestOrExact}, nil
	}
	var raw struct {
		Type             string `json:"type"`
		DockerReference  string `json:"dockerReference"`
		DockerRepository string `json:"dockerRepository"`
		Prefix           string `json:"prefix"`
		SignedPrefix     string `json:"signedPrefix"`
	}
	if err := strictDecode(b, &raw); err != nil {
		return Identity{}, err
	}
	id := Identity{Type: raw.Type, DockerReference: raw.DockerReference, DockerRepository: raw.DockerRepository,
		Prefix: raw.Prefix, SignedPrefix: raw.SignedPrefix}
	extra := func(fields ...string) error {
		return fmt.Errorf("%s takes no %s", raw.Type, strings.Join(fields, ", "))
	}
	switch raw.Type {
	case MatchRepoDigestOrExact, MatchExact, MatchRepository:
		if raw.DockerReference != "" || raw.DockerRepository != "" || raw.Prefix != "" || raw.SignedPrefix != "" {
			return Identity{}, extra("dockerReference", "dockerRepository", "prefix", "signedPrefix")
		}
	case ExactReference:
		if raw.DockerRepository != "" || raw.Prefix != "" || raw.SignedPrefix != "" {
			return Identity{}, extra("dockerRepository", "prefix", "signedPrefix")
		}
		if _, tag, dg := splitRef(raw.DockerReference); tag == "" && dg == "" {
			return Identity{}, fmt.Errorf("exactReference needs a dockerReference with a tag or digest, not %q", raw.DockerReference)
		}
		id.DockerReference = normalize(raw.DockerReference)
	case ExactRepository:
		if raw.DockerReference != "" || raw.Prefix != "" || raw.SignedPrefix != "" {
			return Identity{}, extra("dockerReference", "prefix", "signedPrefix")
		}
		if _, tag, dg := splitRef(raw.DockerRepository); raw.DockerRepository == "" || tag != "" || dg != "" {
			return Identity{}, fmt.Errorf("exactRepository needs a dockerRepository without tag or digest, not %q", raw.DockerRepository)
		}
		id.DockerRepository = normalize(raw.DockerRepository)
	case RemapIdentity:
		if raw.DockerReference != "" || raw.DockerRepository != "" {
			return Identity{}, extra("dockerReference", "dockerRepository")
		}
		if !validPrefix(raw.Prefix) || !validPrefix(raw.SignedPrefix) {
			return Identity{}, fmt.Errorf("remapIdentity needs a prefix and a signedPrefix, each a host, host/namespace or host/repository (got %q, %q)",
				raw.Prefix, raw.SignedPrefix)
		}
	case "":
		return Identity{}, errors.New(`no "type": use matchRepoDigestOrExact, matchExact, matchRepository, exactReference, exactRepository or remapIdentity`)
	default:
		return Identity{}, fmt.Errorf("unknown type %q: use matchRepoDigestOrExact, matchExact, matchRepository, exactReference, exactRepository or remapIdentity", raw.Type)
	}
	return id, nil
}

func validPrefix(p string) bool {
	return p != "" && !strings.ContainsAny(p, "@* \t") && !strings.HasSuffix(p, "/") && !strings.HasPrefix(p, "/")
}

// Match checks a signature's docker-reference, signed, against the
// image's normalized reference, ref.
func (id Identity) Match(ref, signed string) error {
	signed = normalize(signed)
	sRepo, _, _ := splitRef(signed)
	switch id.Type {
	case ExactReference:
		if signed != id.DockerReference {
			return identityErr(signed, "exactly "+id.DockerReference)
		}
		return nil
	case ExactRepository:
		if sRepo != id.DockerRepository {
			return identityErr(signed, "repository "+id.DockerRepository)
		}
		return nil
	case RemapIdentity:
		if rest, ok := cutPrefix(ref, id.Prefix); ok {
			ref = id.SignedPrefix + rest
		}
	}
	repo, tag, dg := splitRef(ref)
	switch {
	case id.Type == MatchRepository,
		(id.Type == MatchRepoDigestOrExact || id.Type == RemapIdentity) && tag == "" && dg != "":
		if sRepo != repo {
			return identityErr(signed, "repository "+repo)
		}
	case signed != ref:
		return identityErr(signed, ref)
	}
	return nil
}

func identityErr(signed, want string) error {
	return fmt.Errorf("%w: the signature is for %s, the policy wants %s", ErrIdentityMismatch, signed, want)
}

// cutPrefix removes prefix from ref when it ends at a component boundary
// of ref (a host, a namespace or the whole repository).
func cutPrefix(ref, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(ref, prefix)
	if !ok || (rest != "" && !strings.ContainsRune("/:@", rune(rest[0]))) {
		return "", false
	}
	if rest != "" && rest[0] == ':' && !strings.Contains(prefix, "/") {
		return "", false // host:port, not host then a tag
	}
	return rest, true
}

// splitRef splits host/repo[:tag][@digest].
func splitRef(ref string) (repo, tag, dg string) {
	repo, dg, _ = strings.Cut(ref, "@")
	if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		repo, tag = repo[:i], repo[i+1:]
	}
	return repo, tag, dg
}

// normalize completes a reference as docker does: a first component that
// is not a host (no "." or ":", not localhost) means docker.io, and a
// single-component name there is under library/.
func normalize(ref string) string {
	first, rest, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return ref
	}
	if !ok {
		return "docker.io/library/" + ref
	}
	return "docker.io/" + first + "/" + rest
}
