package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

// entry is one file in a layer, described independently of the host file system so
// that the same inputs always give the same tar stream.
type entry struct {
	name     string // clean relative path, no leading or trailing slash
	typ      byte   // tar.TypeReg, TypeDir, TypeSymlink, TypeLink, TypeChar, TypeBlock, TypeFifo
	mode     int64  // permission and setuid/setgid/sticky bits
	uid, gid int
	link     string // symlink target or hardlink name
	major    int64
	minor    int64
	mtime    time.Time // zero: the layer's epoch
	size     int64
	open     func() (io.ReadCloser, error) // content of a regular file
}

func dirEntry(name string, mode int64) entry { return entry{name: name, typ: tar.TypeDir, mode: mode} }

func symlinkEntry(name, target string) entry {
	return entry{name: name, typ: tar.TypeSymlink, mode: 0o777, link: target}
}

func bytesEntry(name string, mode int64, content []byte) entry {
	return entry{name: name, typ: tar.TypeReg, mode: mode, size: int64(len(content)),
		open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(content)), nil }}
}

func fileEntry(name string, mode int64, src string) (entry, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return entry{}, fmt.Errorf("add %s to layer: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return entry{}, fmt.Errorf("add %s to layer: %s is not a regular file", name, src)
	}
	return entry{name: name, typ: tar.TypeReg, mode: mode, size: fi.Size(),
		open: func() (io.ReadCloser, error) { return os.Open(src) }}, nil
}

// validName reports whether name is a clean relative path that stays inside the root.
func validName(name string) bool {
	return name != "" && name != "." && path.Clean(name) == name && !path.IsAbs(name) &&
		name != ".." && !strings.HasPrefix(name, "../")
}

// withParents returns entries plus a 0755 root-owned directory for every missing parent,
// sorted by name. It fails on invalid or duplicate names.
func withParents(entries []entry) ([]entry, error) {
	seen := make(map[string]bool, len(entries))
	out := make([]entry, 0, len(entries))
	for _, e := range entries {
		if !validName(e.name) {
			return nil, fmt.Errorf("invalid layer path %q: want a clean relative path", e.name)
		}
		if seen[e.name] {
			return nil, fmt.Errorf("duplicate layer path %q", e.name)
		}
		seen[e.name] = true
		out = append(out, e)
	}
	for _, e := range entries {
		for dir := path.Dir(e.name); dir != "."; dir = path.Dir(dir) {
			if !seen[dir] {
				seen[dir] = true
				out = append(out, dirEntry(dir, 0o755))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// writeTar writes entries, sorted by name, as an uncompressed tar stream. Entries with a
// zero mtime get epoch; owner names, access and change times are never recorded.
func writeTar(w io.Writer, entries []entry, epoch time.Time) error {
	sorted := append([]entry(nil), entries...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	tw := tar.NewWriter(w)
	for _, e := range sorted {
		if err := writeEntry(tw, e, epoch); err != nil {
			return fmt.Errorf("write %s to layer: %w", e.name, err)
		}
	}
	return tw.Close()
}

func writeEntry(tw *tar.Writer, e entry, epoch time.Time) error {
	mtime := e.mtime
	if mtime.IsZero() {
		mtime = epoch
	}
	hdr := &tar.Header{
		Typeflag: e.typ, Name: e.name, Linkname: e.link, Mode: e.mode,
		Uid: e.uid, Gid: e.gid, ModTime: mtime.UTC().Truncate(time.Second),
		Devmajor: e.major, Devminor: e.minor,
	}
	if e.typ == tar.TypeDir {
		hdr.Name += "/"
	}
	if e.typ == tar.TypeReg {
		hdr.Size = e.size
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if e.typ != tar.TypeReg {
		return nil
	}
	rc, err := e.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	n, err := io.Copy(tw, rc)
	if err != nil {
		return err
	}
	if n != e.size {
		return fmt.Errorf("size changed while packing: %d bytes, expected %d", n, e.size)
	}
	return nil
}
