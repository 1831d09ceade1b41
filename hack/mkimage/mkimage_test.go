package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

var testEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

type tarItem struct {
	name, link string
	typ        byte
	mode       int64
	mtime      time.Time
	body       string
}

func readTar(t *testing.T, r io.Reader) []tarItem {
	t.Helper()
	var items []tarItem
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return items
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		items = append(items, tarItem{h.Name, h.Linkname, h.Typeflag, h.Mode, h.ModTime, string(b)})
	}
}

func TestWriteTarSortsAddsParentsAndFixesTimes(t *testing.T) {
	entries, err := withParents([]entry{
		bytesEntry("usr/bin/tool", 0o755, []byte("x")),
		symlinkEntry("bin", "usr/bin"),
		dirEntry("tmp", 0o1777),
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeTar(&buf, entries, testEpoch); err != nil {
		t.Fatal(err)
	}
	items := readTar(t, &buf)
	var names []string
	for _, it := range items {
		names = append(names, it.name)
		if !it.mtime.Equal(testEpoch) {
			t.Errorf("%s: mtime %v, want %v", it.name, it.mtime, testEpoch)
		}
	}
	want := []string{"bin", "tmp/", "usr/", "usr/bin/", "usr/bin/tool"}
	if !slices.Equal(names, want) {
		t.Fatalf("names = %q, want %q", names, want)
	}
	if items[1].mode != 0o1777 || items[4].body != "x" || items[0].link != "usr/bin" {
		t.Errorf("entries lost mode, content or link target: %+v", items)
	}
}

func TestWithParentsRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", ".", "..", "../etc", "/etc", "a//b", "a/./b", "a/"} {
		t.Run(name, func(t *testing.T) {
			if _, err := withParents([]entry{dirEntry(name, 0o755)}); err == nil {
				t.Errorf("name %q accepted", name)
			}
		})
	}
	if _, err := withParents([]entry{dirEntry("a", 0o755), dirEntry("a", 0o700)}); err == nil {
		t.Error("duplicate name accepted")
	}
}

func TestTreeEntriesKeepHardlinksInTarOrder(t *testing.T) {
	root := t.TempDir()
	mustMkdir(t, filepath.Join(root, "a"))
	// Walk order visits a/b before a-c, tar (name) order puts a-c first: the data must go there.
	mustWrite(t, filepath.Join(root, "a-c"), "data")
	if err := os.Link(filepath.Join(root, "a-c"), filepath.Join(root, "a", "b")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a-c", filepath.Join(root, "s")); err != nil {
		t.Fatal(err)
	}
	entries, err := treeEntries(root)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeTar(&buf, entries, testEpoch); err != nil {
		t.Fatal(err)
	}
	items := readTar(t, &buf)
	got := map[string]tarItem{}
	var order []string
	for _, it := range items {
		got[it.name] = it
		order = append(order, it.name)
	}
	if !slices.Equal(order, []string{"a/", "a-c", "a/b", "s"}) {
		t.Fatalf("order = %q", order)
	}
	if got["a-c"].typ != tar.TypeReg || got["a-c"].body != "data" {
		t.Errorf("a-c = %+v, want the regular file with the data", got["a-c"])
	}
	if got["a/b"].typ != tar.TypeLink || got["a/b"].link != "a-c" {
		t.Errorf("a/b = %+v, want a hard link to a-c", got["a/b"])
	}
	if got["s"].typ != tar.TypeSymlink || got["s"].link != "a-c" {
		t.Errorf("s = %+v, want a symlink to a-c", got["s"])
	}
}

func TestBusyboxAppletsAreParsedAndValidated(t *testing.T) {
	good := fakeBusybox(t, "bin/sh\nusr/bin/wc\nlinuxrc\n/sbin/ip\n")
	applets, err := busyboxApplets("", good)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"bin/sh", "linuxrc", "sbin/ip", "usr/bin/wc"}; !slices.Equal(applets, want) {
		t.Errorf("applets = %q, want %q", applets, want)
	}
	if _, err := busyboxApplets("", fakeBusybox(t, "bin/sh\n../../etc/shadow\n")); err == nil {
		t.Error("applet escaping the root accepted")
	}
	if _, err := busyboxApplets("", fakeBusybox(t, "")); err == nil {
		t.Error("empty applet list accepted")
	}
}

// TestLayoutsAreReproducible builds both images twice and compares every byte.
func TestLayoutsAreReproducible(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "prog")
	mustWrite(t, bin, "#!/bin/sh\necho hi\n")
	bb := fakeBusybox(t, "bin/sh\nbin/ls\n")
	build := func(name string) {
		for _, args := range [][]string{
			{"sensor", "-o", filepath.Join(dir, name, "sensor"), "-bin", "linux/amd64=" + bin, "-bin", "linux/arm/v7=" + bin},
			{"busybox", "-o", filepath.Join(dir, name, "busybox"), "-platform", "linux/amd64", "-bin", bb},
		} {
			if err := run(append(args, "-epoch", "1700000000"), io.Discard); err != nil {
				t.Fatal(err)
			}
		}
	}
	build("one")
	build("two")
	for _, img := range []string{"sensor", "busybox"} {
		a, b := snapshot(t, filepath.Join(dir, "one", img)), snapshot(t, filepath.Join(dir, "two", img))
		if len(a) < 5 || !maps.Equal(a, b) {
			t.Errorf("%s: layouts differ or are incomplete: %d vs %d files", img, len(a), len(b))
		}
	}
	idx, err := layout.ImageIndexFromPath(filepath.Join(dir, "one", "sensor"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 || m.Manifests[0].Annotations[refNameAnnotation] != "sensor:latest" {
		t.Fatalf("index.json = %+v, %v; want one index named sensor:latest", m, err)
	}
	inner, err := idx.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := inner.IndexManifest()
	if err != nil || len(im.Manifests) != 2 || im.Manifests[1].Platform.Variant != "v7" {
		t.Fatalf("sensor index = %+v, %v; want amd64 and arm/v7", im, err)
	}
	img, err := inner.Image(im.Manifests[1].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil || cf.Architecture != "arm" || cf.Variant != "v7" || cf.Config.Entrypoint[0] != "/usr/bin/sensor" ||
		!cf.Created.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("arm config = %+v, %v", cf, err)
	}
}

func TestTreeCommandPrintsLayerBlob(t *testing.T) {
	src, out := t.TempDir(), filepath.Join(t.TempDir(), "img")
	mustWrite(t, filepath.Join(src, "hello"), "world")
	var stdout bytes.Buffer
	if err := run([]string{"tree", "-o", out, "-ref", "t", "-src", src}, &stdout); err != nil {
		t.Fatal(err)
	}
	blob := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(blob, filepath.Join(out, "blobs", "sha256")+"/") {
		t.Fatalf("printed %q, want a blob under %s", blob, out)
	}
	if _, err := os.Stat(blob); err != nil {
		t.Fatal(err)
	}
}

func TestRunRejectsBadInput(t *testing.T) {
	tests := [][]string{
		{},
		{"nope", "-o", "x"},
		{"sensor"},
		{"sensor", "-o", "x"},
		{"sensor", "-o", "x", "-bin", "beos=/bin/true"},
		{"busybox", "-o", "x"},
		{"tree", "-o", "x"},
		{"sensor", "-o", "x", "-epoch", "yesterday", "-bin", "/bin/true"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if err := run(args, io.Discard); err == nil {
				t.Errorf("run(%q) succeeded", args)
			}
		})
	}
}

func fakeBusybox(t *testing.T, list string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "busybox")
	script := "#!/bin/sh\nprintf '" + strings.ReplaceAll(list, "\n", `\n`) + "'\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o755); err != nil {
		t.Fatal(err)
	}
}
