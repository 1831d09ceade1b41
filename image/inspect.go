package image

import (
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// Inspect is `edgerun image inspect`'s document for one image, in docker's
// shape (docker image inspect) where edgerun has the same concept. Id is
// the manifest digest, the ID `edgerun images` shows (as docker's
// containerd image store does; docker's classic store used the config
// digest). Size is what the image's blobs take in the store (compressed
// layers and config), not docker's unpacked size.
type Inspect struct {
	ID           string        `json:"Id"`
	RepoTags     []string      `json:"RepoTags"`
	RepoDigests  []string      `json:"RepoDigests"`
	Comment      string        `json:"Comment"`
	Created      string        `json:"Created"`
	Author       string        `json:"Author"`
	Config       InspectConfig `json:"Config"`
	Architecture string        `json:"Architecture"`
	Variant      string        `json:"Variant,omitempty"`
	Os           string        `json:"Os"`
	Size         int64         `json:"Size"`
	RootFS       InspectRootFS `json:"RootFS"`
	Edgerun      InspectExtra  `json:"Edgerun"`
}

// InspectExtra holds edgerun's own fields, apart from docker's.
type InspectExtra struct {
	ConfigDigest digest.Digest `json:"ConfigDigest"`
	MediaType    string        `json:"MediaType"` // the manifest's
	Platform     string        `json:"Platform"`
	Names        []string      `json:"Names"` // normalised, as stored
}

// InspectConfig is the run configuration of docker's image inspect.
type InspectConfig struct {
	User         string              `json:"User"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env"`
	Cmd          []string            `json:"Cmd"`
	Healthcheck  *Healthcheck        `json:"Healthcheck,omitempty"`
	Volumes      map[string]struct{} `json:"Volumes"`
	WorkingDir   string              `json:"WorkingDir"`
	Entrypoint   []string            `json:"Entrypoint"`
	Labels       map[string]string   `json:"Labels"`
	StopSignal   string              `json:"StopSignal,omitempty"`
}

// InspectRootFS lists the image's layers by diff ID, base layer first.
type InspectRootFS struct {
	Type   string          `json:"Type"`
	Layers []digest.Digest `json:"Layers"`
}

// InspectDocument builds img's inspect document; it only computes.
func InspectDocument(img *Image) Inspect {
	c := img.Config.Config
	doc := Inspect{
		ID:          img.Digest.String(),
		RepoTags:    []string{},
		RepoDigests: []string{},
		Author:      img.Config.Author,
		Config: InspectConfig{
			User: c.User, ExposedPorts: c.ExposedPorts, Env: c.Env, Cmd: c.Cmd, Healthcheck: img.Healthcheck,
			Volumes: c.Volumes, WorkingDir: c.WorkingDir, Entrypoint: c.Entrypoint, Labels: c.Labels,
			StopSignal: c.StopSignal,
		},
		Architecture: img.Config.Architecture,
		Variant:      img.Config.Variant,
		Os:           img.Config.OS,
		Size:         img.Size,
		RootFS:       InspectRootFS{Type: "layers", Layers: img.Config.RootFS.DiffIDs},
		Edgerun: InspectExtra{ConfigDigest: img.ConfigDigest, MediaType: img.Manifest.MediaType,
			Platform: FormatPlatform(img.Platform), Names: append([]string{}, img.Names...)},
	}
	if doc.RootFS.Layers == nil {
		doc.RootFS.Layers = []digest.Digest{}
	}
	if !img.Created.IsZero() {
		doc.Created = img.Created.UTC().Format(time.RFC3339Nano)
	}
	if n := len(img.Config.History); n > 0 {
		doc.Comment = img.Config.History[n-1].Comment
	}
	repos := map[string]bool{}
	for _, n := range img.Names {
		repo, _, isDigest := strings.Cut(n, "@")
		if !isDigest {
			doc.RepoTags = append(doc.RepoTags, FamiliarName(n))
			repo = repoOf(n)
		}
		if !repos[repo] {
			repos[repo] = true
			doc.RepoDigests = append(doc.RepoDigests, FamiliarName(repo)+"@"+img.Digest.String())
		}
	}
	return doc
}

// repoOf strips the tag from a normalised name (a port in the registry
// is not a tag: the tag follows the last '/').
func repoOf(name string) string {
	slash := strings.LastIndex(name, "/")
	if colon := strings.LastIndex(name, ":"); colon > slash {
		return name[:colon]
	}
	return name
}

// FamiliarName shortens a normalised docker.io name the way docker prints
// it: docker.io/library/busybox:latest → busybox:latest.
func FamiliarName(n string) string {
	n = strings.TrimPrefix(n, "index.docker.io/")
	n = strings.TrimPrefix(n, "docker.io/")
	return strings.TrimPrefix(n, "library/")
}

// HistoryEntry is one row of `edgerun history`: one step of the image's
// build from its config's history, newest first. ID is the image's ID on
// the newest row and empty on the others (docker prints <missing>: the
// steps are not images of their own here). Size is the compressed size of
// the layer the step made, 0 for a step that made none.
type HistoryEntry struct {
	ID         string    `json:"ID"`
	Created    time.Time `json:"Created,omitzero"`
	CreatedBy  string    `json:"CreatedBy"`
	Size       int64     `json:"Size"`
	Comment    string    `json:"Comment"`
	EmptyLayer bool      `json:"EmptyLayer,omitempty"`
}

// History lists img's build steps, newest first. A config without history
// gives one row per layer.
func History(img *Image) []HistoryEntry {
	layers := img.Manifest.Layers
	var out []HistoryEntry
	next := 0
	for _, h := range img.Config.History {
		e := HistoryEntry{CreatedBy: h.CreatedBy, Comment: h.Comment, EmptyLayer: h.EmptyLayer}
		if h.Created != nil {
			e.Created = *h.Created
		}
		if !h.EmptyLayer && next < len(layers) {
			e.Size = layers[next].Size
			next++
		}
		out = append(out, e)
	}
	for ; next < len(layers); next++ { // layers the history does not tell of
		out = append(out, HistoryEntry{Size: layers[next].Size, Created: img.Created})
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) > 0 {
		out[0].ID = img.Digest.String()
	}
	return out
}
