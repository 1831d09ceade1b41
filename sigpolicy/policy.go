// Package sigpolicy is edgerun's signature trust policy: a file in the shape
// of containers-policy.json(5) that says, per registry, repository or image,
// whether an image is accepted as it is, rejected, or must carry a sigstore
// signature (cosign's format) made with a given public key. It parses the
// policy, picks the rule for an image (the most specific scope wins) and
// verifies signatures offline with the standard library's crypto. It does
// no I/O besides reading the policy and key files: fetching signatures is
// package image's.
package sigpolicy

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Requirement types of containers-policy.json(5) that edgerun implements.
const (
	TypeAcceptAnything = "insecureAcceptAnything"
	TypeReject         = "reject"
	TypeSigstoreSigned = "sigstoreSigned"
)

// Transports whose scopes edgerun reads: docker for pull, the others for
// load's inputs (OCI layout, OCI archive, docker-save archive).
const (
	TransportDocker        = "docker"
	TransportOCI           = "oci"
	TransportOCIArchive    = "oci-archive"
	TransportDockerArchive = "docker-archive"
)

// maxPolicySize caps the policy file and each key file.
const maxPolicySize = 1 << 20

// Policy is a parsed policy file.
type Policy struct {
	File       string
	Default    []Requirement
	Transports map[string]map[string][]Requirement
}

// Requirement is one entry of a rule's list; an image must satisfy all of
// a rule's requirements.
type Requirement struct {
	Type string
	// Key is the sigstoreSigned public key; KeyName says where it came
	// from (its keyPath, or "keyData").
	Key      crypto.PublicKey
	KeyName  string
	Identity Identity
}

// Rule is the list of requirements that applies to one image, and where
// in the policy file it was found.
type Rule struct {
	File  string
	Scope string // default, or transports.docker["registry.local/app"]
	Reqs  []Requirement
}

// Source says which policy file to use: Path; when Optional, a missing
// file means no policy (edgerun's default location), else it is an error
// (a path the user named).
type Source struct {
	Path     string
	Optional bool
}

// DefaultPath is the policy file of a user: /etc/edgerun/policy.json for
// root, $XDG_CONFIG_HOME/edgerun/policy.json (~/.config by default) for
// the others.
func DefaultPath(euid int, getenv func(string) string) string {
	if euid == 0 {
		return "/etc/edgerun/policy.json"
	}
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		dir = filepath.Join(getenv("HOME"), ".config")
	}
	return filepath.Join(dir, "edgerun", "policy.json")
}

// Load reads the policy src names, with its keys; it returns nil and no
// error when src is optional and the file does not exist.
func Load(src Source) (*Policy, error) {
	if src.Path == "" {
		return nil, nil
	}
	b, err := readSmall(src.Path)
	if errors.Is(err, fs.ErrNotExist) && src.Optional {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w: create it, or name another with --signature-policy", ErrInvalidPolicy, err)
	}
	return Parse(src.Path, b, readSmall)
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPolicySize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxPolicySize {
		return nil, fmt.Errorf("%s is over %d bytes", path, maxPolicySize)
	}
	return b, nil
}

// rawPolicy is the file's JSON.
type rawPolicy struct {
	Default    []json.RawMessage                       `json:"default"`
	Transports map[string]map[string][]json.RawMessage `json:"transports"`
}

// Parse parses a policy file's content; readKey reads a keyPath (nil
// refuses keyPath, for fuzzing).
func Parse(file string, b []byte, readKey func(string) ([]byte, error)) (*Policy, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%w %s: %s", ErrInvalidPolicy, file, fmt.Sprintf(format, a...))
	}
	var raw rawPolicy
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fail("%v: see docs/security.md, \"Signature policy\"", err)
	}
	if dec.More() {
		return nil, fail("data after the policy object")
	}
	if raw.Default == nil {
		return nil, fail(`no "default" rule: add "default": [{"type": "reject"}] (or insecureAcceptAnything) for images no scope names`)
	}
	p := &Policy{File: file, Transports: map[string]map[string][]Requirement{}}
	var err error
	if p.Default, err = parseReqs(raw.Default, readKey); err != nil {
		return nil, fail("default: %v", err)
	}
	for _, t := range sortedKeys(raw.Transports) {
		scopes := map[string][]Requirement{}
		for _, sc := range sortedKeys(raw.Transports[t]) {
			if t == TransportDocker {
				if err := checkDockerScope(sc); err != nil {
					return nil, fail("%s: %v", scopeName(t, sc), err)
				}
			}
			if scopes[sc], err = parseReqs(raw.Transports[t][sc], readKey); err != nil {
				return nil, fail("%s: %v", scopeName(t, sc), err)
			}
		}
		p.Transports[t] = scopes
	}
	return p, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func parseReqs(raws []json.RawMessage, readKey func(string) ([]byte, error)) ([]Requirement, error) {
	if len(raws) == 0 {
		return nil, errors.New("empty list of requirements: a rule needs at least one (insecureAcceptAnything, reject or sigstoreSigned)")
	}
	reqs := make([]Requirement, 0, len(raws))
	for i, r := range raws {
		req, err := parseReq(r, readKey)
		if err != nil {
			return nil, fmt.Errorf("requirement %d: %w", i, err)
		}
		reqs = append(reqs, req)
	}
	return reqs, nil
}

// rawReq is every field a requirement may have; which ones are allowed
// depends on its type.
type rawReq struct {
	Type           string          `json:"type"`
	KeyPath        *string         `json:"keyPath"`
	KeyData        *string         `json:"keyData"`
	SignedIdentity json.RawMessage `json:"signedIdentity"`
}

func parseReq(b json.RawMessage, readKey func(string) ([]byte, error)) (Requirement, error) {
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return Requirement{}, err
	}
	switch probe.Type {
	case TypeAcceptAnything, TypeReject:
		if err := strictDecode(b, &struct {
			Type string `json:"type"`
		}{}); err != nil {
			return Requirement{}, fmt.Errorf("%s: %w", probe.Type, err)
		}
		return Requirement{Type: probe.Type}, nil
	case TypeSigstoreSigned:
		return parseSigstore(b, readKey)
	case "signedBy":
		return Requirement{}, errors.New("signedBy (GPG signatures) is not supported: use sigstoreSigned with a public key")
	case "":
		return Requirement{}, errors.New(`no "type": use insecureAcceptAnything, reject or sigstoreSigned`)
	}
	return Requirement{}, fmt.Errorf("unknown type %q: use insecureAcceptAnything, reject or sigstoreSigned", probe.Type)
}

func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func parseSigstore(b json.RawMessage, readKey func(string) ([]byte, error)) (Requirement, error) {
	var r rawReq
	if err := strictDecode(b, &r); err != nil {
		return Requirement{}, fmt.Errorf("sigstoreSigned: %w (edgerun supports keyPath, keyData and signedIdentity; not Fulcio or Rekor)", err)
	}
	req := Requirement{Type: TypeSigstoreSigned}
	var pemKey []byte
	switch {
	case (r.KeyPath == nil) == (r.KeyData == nil):
		return Requirement{}, errors.New("sigstoreSigned needs exactly one of keyPath and keyData")
	case r.KeyPath != nil:
		if !filepath.IsAbs(*r.KeyPath) {
			return Requirement{}, fmt.Errorf("keyPath %q is not absolute: name the key file by its absolute path", *r.KeyPath)
		}
		if readKey == nil {
			return Requirement{}, errors.New("keyPath is not allowed here")
		}
		kb, err := readKey(*r.KeyPath)
		if err != nil {
			return Requirement{}, fmt.Errorf("keyPath: %w", err)
		}
		pemKey, req.KeyName = kb, *r.KeyPath
	default:
		kb, err := base64.StdEncoding.DecodeString(*r.KeyData)
		if err != nil {
			return Requirement{}, fmt.Errorf("keyData is not base64: %w", err)
		}
		pemKey, req.KeyName = kb, "keyData"
	}
	key, err := ParsePublicKey(pemKey)
	if err != nil {
		return Requirement{}, fmt.Errorf("%s: %w", req.KeyName, err)
	}
	req.Key = key
	if req.Identity, err = parseIdentity(r.SignedIdentity); err != nil {
		return Requirement{}, fmt.Errorf("signedIdentity: %w", err)
	}
	return req, nil
}

// checkDockerScope refuses scopes that can never match a reference.
func checkDockerScope(sc string) error {
	if sc == "" {
		return nil
	}
	if strings.Contains(sc, "://") {
		return errors.New("a scope is a registry, repository or image reference, without a scheme")
	}
	if strings.HasPrefix(sc, "*.") {
		if strings.ContainsAny(sc[2:], "/*@") || sc[2:] == "" {
			return errors.New("a wildcard scope is *.domain (a host name only)")
		}
		return nil
	}
	if strings.ContainsAny(sc, "* \t") || strings.HasSuffix(sc, "/") || strings.HasPrefix(sc, "/") {
		return errors.New("not a registry, repository or image reference")
	}
	return nil
}

// For returns the rule for an image: ref (a normalized reference,
// host/repo:tag or host/repo@digest) for the docker transport, or the
// input path for the load transports. The most specific scope wins: the
// full reference, the repository, each namespace above it, the registry,
// *.domain wildcards from the narrowest, the transport's "" scope, then
// default.
func (p *Policy) For(transport, ref string) Rule {
	scopes := p.Transports[transport]
	for _, sc := range candidates(transport, ref) {
		if reqs, ok := scopes[sc]; ok {
			return Rule{File: p.File, Scope: scopeName(transport, sc), Reqs: reqs}
		}
	}
	return Rule{File: p.File, Scope: "default", Reqs: p.Default}
}

// candidates lists the scopes that may apply to ref, most specific first.
func candidates(transport, ref string) []string {
	var c []string
	switch transport {
	case TransportDocker:
		c = append(c, ref)
		repo, _, _ := splitRef(ref)
		for s := repo; s != ""; {
			c = append(c, s)
			i := strings.LastIndexByte(s, '/')
			if i < 0 {
				break
			}
			s = s[:i]
		}
		host, _, _ := strings.Cut(repo, "/")
		host, _, _ = strings.Cut(host, ":")
		for d := host; ; {
			_, rest, ok := strings.Cut(d, ".")
			if !ok || rest == "" {
				break
			}
			c = append(c, "*."+rest)
			d = rest
		}
	default: // a path: itself and its parent directories
		for s := filepath.Clean(ref); ; s = filepath.Dir(s) {
			c = append(c, s)
			if s == filepath.Dir(s) {
				break
			}
		}
	}
	return append(c, "")
}
