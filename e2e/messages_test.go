package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// messageLike reports whether got is the message want, in which "..."
// stands for any text (a size, a path, the registry's own words).
func messageLike(got, want string) bool {
	parts := strings.Split(want, "...")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(got)
}

// TestDocumentedErrorMessages: the messages of docs/cli.md's "Error
// messages" table, each made by its command and compared whole with what
// edgerun prints (stderr without "edgerun: " and the newline; stdout for
// logout), with the exit code of docs/cli.md's "Exit codes".
func TestDocumentedErrorMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	reg := startFakeRegistry(t)
	e.extraEnv = append(e.extraEnv, "DOCKER_CONFIG="+filepath.Join(e.base, "docker"))
	e.must("run", "--name", "fg", "busybox", "true")
	up := e.runD("--name", "up", "busybox", "sleep", "300")
	fg := e.inspect("fg").ID
	prefix, n := ambiguousPrefix(e)
	otherRoot := &env{t: t, bin: e.bin, base: e.base, root: filepath.Join(e.base, "root2"), state: e.state, ids: map[string]bool{}}
	otherState := &env{t: t, bin: e.bin, base: e.base, root: e.root, state: filepath.Join(e.base, "state2"), ids: map[string]bool{}}
	tagOnly := writeLayout(t, busyboxImage(t), "latest")
	nested := nestedIndexLayout(t, 10)
	trailing := gzipWithGarbage(t, e)
	host := reg.host

	for _, tc := range []struct {
		name string
		e    *env
		args []string
		code int
		want string
	}{
		{"unknown container", e, []string{"logs", "nosuch"}, 1, "no such container: nosuch: see edgerun ps -a"},
		{"ambiguous prefix", e, []string{"inspect", prefix}, 1,
			fmt.Sprintf(`ambiguous container ID prefix: "%s" matches %d containers: give more characters of the ID, or the name`, prefix, n)},
		{"rm of a running container", e, []string{"rm", "up"}, 1,
			"container is running: cannot remove running container up: stop it first, or use rm -f"},
		{"logs of a foreground container", e, []string{"logs", "fg"}, 1,
			"container has no logs: fg ran in the foreground, where its output went to the terminal; containers started with run -d or start keep logs"},
		{"kill of a stopped container", e, []string{"kill", "fg"}, 1, "container is not running: container fg is not running"},
		{"top of a stopped container", e, []string{"top", "fg"}, 1, "container is not running: container fg is exited"},
		{"port of a stopped container", e, []string{"port", "fg", "80"}, 1, "no public port published: container fg does not publish 80"},
		{"rename to a name in use", e, []string{"rename", "up", "fg"}, 1,
			fmt.Sprintf(`container name in use: the name "fg" is already in use by container %s: remove it (edgerun rm fg) or choose another name`, fg[:12])},
		{"state directory of another root", otherRoot, []string{"ps"}, 1,
			fmt.Sprintf("state directory in use: state directory %s belongs to root %s, not %s: give each root its own --state (for example --state %s)",
				e.state, e.root, otherRoot.root, filepath.Join(e.base, "edgerun-root2"))},
		{"second state directory of a root", otherState, []string{"ps"}, 1,
			fmt.Sprintf("state directory in use: root %s keeps its volatile state in %s, which still exists: use --state %s (a second state directory would not lock the first one's containers out); to move it, stop the root's containers and remove %s",
				e.root, e.state, e.state, e.state)},
		{"healthcheck run without a check", e, []string{"healthcheck", "run", "up"}, 125,
			"container has no health check: up: run it with --health-cmd, or use an image with a HEALTHCHECK"},
		{"load of a layout named by a tag", e, []string{"load", "-i", tagOnly}, 1,
			"load " + tagOnly + `: the layout names its image only by the tag "latest" (org.opencontainers.image.ref.name), which is no image name: load it with --name NAME:latest`},
		{"load of indexes nested 10 deep", e, []string{"load", "-i", nested}, 1,
			"load " + nested + ": invalid image: index sha256:...: image indexes nest more than 8 deep: make it one index of platform manifests"},
		{"load of a gzip archive with trailing garbage", e, []string{"load", "-i", trailing}, 1,
			"load " + trailing + ": input is not an OCI layout, OCI archive or docker-save archive: the archive has data after the end of its gzip stream that is not gzip (trailing garbage, or a truncated file): save or copy it again"},
		{"pull of an image not in the registry", e, []string{"pull", host + "/public/nosuch:1"}, 1,
			"pull " + host + "/public/nosuch:1: image not found: manifest " + host + "/public/nosuch:1: not in the registry: check the name and tag: ..."},
		{"pull refused for want of credentials", e, []string{"pull", host + "/private/busybox:1"}, 1,
			"pull " + host + "/private/busybox:1: registry refused access: manifest " + host + "/private/busybox:1: no credentials for " + host + ", or the stored ones were refused: log in with edgerun login " + host + ", and check the image name (registries answer so for images that do not exist, too): UNAUTHORIZED: authentication required"},
		{"pull denied", e, []string{"pull", host + "/denied/busybox:1"}, 1,
			"pull " + host + "/denied/busybox:1: registry refused access: manifest " + host + "/denied/busybox:1: access denied: the credentials stored for " + host + " may not pull this image: check the name, or log in as a user who may (edgerun login " + host + "): DENIED: requested access to the resource is denied"},
		{"pull of a corrupt blob", e, []string{"pull", "--retries", "0", host + "/corrupt/sensor:1"}, 1,
			"pull " + host + "/corrupt/sensor:1: config: blob sha256:...: content does not match its digest: content hashes to sha256:..."},
		{"pull of a manifest over 4 MiB", e, []string{"pull", host + "/huge/busybox:1"}, 1,
			"pull " + host + "/huge/busybox:1: manifest " + host + "/huge/busybox:1: JSON document is too large (over 4194304 bytes)"},
		{"pull of a platform the image lacks", e, []string{"pull", "--platform", "linux/riscv64", host + "/public/sensor:1"}, 1,
			"pull " + host + "/public/sensor:1: index sha256:...: no manifest for the wanted platform: the image has no linux/riscv64 manifest: available: linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64: choose one with --platform"},
		{"load beyond the free space reserve", e, []string{"load", "--min-free", "1000000g", "-i", imagePath(t, "sensor")}, 1,
			"load " + imagePath(t, "sensor") + ": not enough disk space: ... MB free on " + filepath.Join(e.root, "ingest") + ", which must keep 1073741824 MB free: free space (edgerun image prune) or lower the reserve (--min-free)"},
		{"login refused", e, []string{"login", "-u", fakeUser, "--password-stdin", host}, 1,
			"login to " + host + ": registry refused access: " + host + " refused the user name or password: check them (some registries want an access token in place of the password): UNAUTHORIZED: authentication required"},
		{"an unknown template function", e, []string{"ps", "--format", "{{nope .}}"}, 1, `--format: template: :1: function "nope" not defined`},
		{"an unknown ps filter", e, []string{"ps", "-f", "bogus=1"}, 1,
			`invalid filter "bogus=1": use KEY=VALUE with KEY one of ancestor, exited, health, id, label, name, status`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.e.runIn([]byte("wrong\n"), tc.args...) // a password for login
			got := strings.TrimSuffix(strings.TrimPrefix(r.stderr, "edgerun: "), "\n")
			if r.code != tc.code || strings.Count(r.stderr, "\n") != 1 || !messageLike(got, tc.want) {
				t.Errorf("edgerun %s: %s\nwant exit %d and the message\n%s", strings.Join(tc.args, " "), r, tc.code, tc.want)
			}
		})
	}
	// logout says so on stdout, and succeeds, as docker's.
	if r := e.run("logout", host); r.code != 0 || r.stdout != "Not logged in to "+host+"\n" {
		t.Errorf("logout when not logged in: %s", r)
	}
	e.must("rm", "-f", up, "fg")
	e.must("prune")
}

// ambiguousPrefix creates containers until two IDs share a first hex
// digit, and returns it and how many IDs start with it.
func ambiguousPrefix(e *env) (string, int) {
	e.t.Helper()
	seen := map[byte]int{}
	for _, id := range strings.Fields(e.must("ps", "-aq", "--no-trunc")) {
		seen[id[0]]++
	}
	for i := 0; i < 17; i++ {
		for c, k := range seen {
			if k > 1 {
				return string(c), k
			}
		}
		id := strings.TrimSpace(e.must("create", "busybox", "true"))
		e.noteID(id)
		seen[id[0]]++
	}
	e.t.Fatal("17 IDs and no shared first digit")
	return "", 0
}

// nestedIndexLayout writes a layout of busybox inside depth image indexes.
func nestedIndexLayout(t *testing.T, depth int) string {
	t.Helper()
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: busyboxImage(t)})
	for range depth - 1 {
		idx = mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: idx,
			Descriptor: v1.Descriptor{MediaType: types.OCIImageIndex}})
	}
	dir := filepath.Join(t.TempDir(), "nested")
	if _, err := layout.Write(dir, idx); err != nil {
		t.Fatal(err)
	}
	return dir
}

// gzipWithGarbage saves busybox, gzips it and appends text that is not
// gzip.
func gzipWithGarbage(t *testing.T, e *env) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(e.must("save", "busybox"))); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("garbage after the gzip stream\n")
	p := filepath.Join(t.TempDir(), "busybox.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
