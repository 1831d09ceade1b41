package rootfs

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// ent is one tar entry built by a test.
type ent struct {
	name, link, body string
	typ              byte
	mode             int64
	major, minor     int64
	xattrs           map[string]string
	own              *[2]int // uid, gid; nil: 1000:1000
}

// owned is e owned by uid:gid with permission bits mode.
func (e ent) owned(uid, gid int, mode int64) ent {
	e.own, e.mode = &[2]int{uid, gid}, mode
	return e
}

func file(name, body string) ent { return ent{name: name, body: body, typ: tar.TypeReg, mode: 0o644} }
func dir(name string) ent        { return ent{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, target string) ent {
	return ent{name: name, link: target, typ: tar.TypeSymlink, mode: 0o777}
}
func hardlink(name, target string) ent {
	return ent{name: name, link: target, typ: tar.TypeLink, mode: 0o644}
}
func chardev(name string, maj, min int64) ent {
	return ent{name: name, typ: tar.TypeChar, mode: 0o666, major: maj, minor: min}
}
func fifo(name string) ent { return ent{name: name, typ: tar.TypeFifo, mode: 0o644} }

func buildTar(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(1_600_000_000, 0)
	for _, e := range ents {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode,
			Size: int64(len(e.body)), Devmajor: e.major, Devminor: e.minor, ModTime: mt,
			Uid: 1000, Gid: 1000, Format: tar.FormatPAX}
		if e.own != nil {
			h.Uid, h.Gid = e.own[0], e.own[1]
		}
		if e.major > 1<<21 || e.minor > 1<<21 {
			h.Format = tar.FormatGNU // base-256 numbers
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		for k, v := range e.xattrs {
			if h.PAXRecords == nil {
				h.PAXRecords = map[string]string{}
			}
			h.PAXRecords["SCHILY.xattr."+k] = v
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("tar header %q: %v", e.name, err)
		}
		if h.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sandbox is a temp dir holding dst (the unpack target) and, beside it, an
// "outside" dir with a sentinel file that no layer may touch.
type sandbox struct {
	base, dst, outside, sentinel string
}

func newSandbox(t testing.TB) sandbox {
	t.Helper()
	base := t.TempDir()
	s := sandbox{base: base, dst: filepath.Join(base, "dst"), outside: filepath.Join(base, "outside")}
	s.sentinel = filepath.Join(s.outside, "secret")
	for _, d := range []string{s.dst, s.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(s.sentinel, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// snapshot describes everything under base except dst: the state that an
// unpack must never change.
func (s sandbox) snapshot(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(s.base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == s.dst {
			return filepath.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d %d", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %x", sha256.Sum256(data))
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return b.String()
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}
