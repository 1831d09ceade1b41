package image

import (
	"strings"
	"testing"
)

func TestParseReferenceIsAsStrictAsDocker(t *testing.T) {
	// The grammar of docker's RepoTags (distribution/reference).
	good := map[string]string{
		"busybox":                             "docker.io/library/busybox:latest",
		"sensor:1.2":                          "docker.io/library/sensor:1.2",
		"my.reg:5000/ns/img:tag":              "my.reg:5000/ns/img:tag",
		"localhost:5000/x":                    "localhost:5000/x:latest",
		"Registry.Example.COM/a/b":            "Registry.Example.COM/a/b:latest",
		"foo__bar":                            "docker.io/library/foo__bar:latest",
		"foo---bar/a.b_c":                     "docker.io/foo---bar/a.b_c:latest",
		"[::1]:5000/x":                        "[::1]:5000/x:latest",
		"ghcr.io/org/app:v1.0-rc_1":           "ghcr.io/org/app:v1.0-rc_1",
		"x@sha256:" + strings.Repeat("a", 64): "docker.io/library/x@sha256:" + strings.Repeat("a", 64),
	}
	for in, want := range good {
		if got, err := ParseReference(in); err != nil || got != want {
			t.Errorf("ParseReference(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{
		"../../../etc/evil", "a/../b", "foo/./bar", "foo//bar", "a.b/../c", "example.com/../x",
		"foo/bar/", "-foo", "foo-", "foo_-bar", "a/.b", "a/b.", "x..y/z", "..:1/x", "-reg.io/x",
		"Foo", "a" + strings.Repeat("/b", 130), "",
	} {
		if got, err := ParseReference(bad); err == nil {
			t.Errorf("ParseReference(%q) = %q, want an error", bad, got)
		} else if !strings.Contains(err.Error(), "use [registry/]name[:tag][@sha256:digest]") {
			t.Errorf("ParseReference(%q): %v does not say what a reference looks like", bad, err)
		}
	}
}
