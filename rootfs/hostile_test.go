package rootfs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

type hostileCase struct {
	name  string
	blob  func(t testing.TB, s sandbox) []byte
	opts  UnpackOptions
	err   error                         // nil: the layer must unpack
	check func(t *testing.T, s sandbox) // the documented safe result
}

func tarOf(f func(s sandbox) []ent) func(testing.TB, sandbox) []byte {
	return func(t testing.TB, s sandbox) []byte { return buildTar(t, f(s)...) }
}

func ents(e ...ent) func(testing.TB, sandbox) []byte {
	return tarOf(func(sandbox) []ent { return e })
}

func wantFile(rel, body string) func(*testing.T, sandbox) {
	return func(t *testing.T, s sandbox) {
		if got := readFile(t, filepath.Join(s.dst, rel)); got != body {
			t.Fatalf("%s = %q, want %q", rel, got, body)
		}
	}
}

func hostileCases() []hostileCase {
	bomb := func(t testing.TB, _ sandbox) []byte {
		return gzipBytes(t, buildTar(t, file("zeros", strings.Repeat("\x00", 16<<20))))
	}
	gz := func(t testing.TB, _ sandbox) []byte {
		return gzipBytes(t, buildTar(t, file("a", strings.Repeat("payload ", 4096)), file("b", "x")))
	}
	return []hostileCase{
		{name: "dotdot", blob: ents(file("../outside/secret", "pwned")), err: ErrUnsafePath},
		{name: "dotdot nested", blob: ents(dir("a"), file("a/../../outside/secret", "pwned")), err: ErrUnsafePath},
		{name: "absolute path is rooted in the layer",
			blob:  tarOf(func(s sandbox) []ent { return []ent{file(s.sentinel, "pwned")} }),
			check: func(t *testing.T, s sandbox) { wantFile(s.sentinel, "pwned")(t, s) }},
		{name: "absolute symlink parent, dangling in the layer",
			blob: tarOf(func(s sandbox) []ent {
				return []ent{symlink("ln", s.outside), file("ln/secret", "pwned")}
			}), err: ErrBadParent},
		{name: "absolute symlink parent resolves in the layer",
			blob:  ents(dir("etc"), symlink("ln", "/etc"), file("ln/secret", "pwned")),
			check: wantFile("etc/secret", "pwned")},
		{name: "relative symlink parent, dangling in the layer",
			blob: ents(symlink("ln", "../../../../outside"), file("ln/secret", "pwned")), err: ErrBadParent},
		{name: "relative symlink parent resolves in the layer",
			blob:  ents(dir("outside"), symlink("ln", "../../../../outside"), file("ln/secret", "pwned")),
			check: wantFile("outside/secret", "pwned")},
		{name: "symlink chain",
			blob:  ents(dir("outside"), symlink("a", "b"), symlink("b", "../../outside"), file("a/secret", "pwned")),
			check: wantFile("outside/secret", "pwned")},
		{name: "symlink chain, dangling",
			blob: ents(symlink("a", "b"), symlink("b", "../../outside"), file("a/secret", "pwned")), err: ErrBadParent},
		{name: "file as parent", blob: ents(file("f", "x"), file("f/g", "y")), err: ErrBadParent},
		{name: "symlinked parent dir",
			blob:  ents(dir("d"), symlink("d/up", "../.."), file("d/up/outside/secret", "pwned")),
			check: wantFile("outside/secret", "pwned")},
		{name: "symlink replaced by file is not followed",
			blob: tarOf(func(s sandbox) []ent {
				return []ent{symlink("ln", s.sentinel), file("ln", "mine")}
			}),
			check: wantFile("ln", "mine")},
		{name: "hardlink to absolute outside file",
			blob: tarOf(func(s sandbox) []ent { return []ent{hardlink("hl", s.sentinel)} }), err: ErrBadHardlink},
		{name: "hardlink climbing out", blob: ents(hardlink("hl", "../outside/secret")), err: ErrUnsafePath},
		{name: "hardlink through symlink",
			blob: tarOf(func(s sandbox) []ent {
				return []ent{symlink("ln", s.outside), hardlink("hl", "ln/secret")}
			}), err: ErrBadHardlink},
		{name: "hardlink to a symlink links the symlink itself",
			blob: tarOf(func(s sandbox) []ent {
				return []ent{symlink("ln", s.sentinel), hardlink("hl", "ln")}
			}),
			check: func(t *testing.T, s sandbox) {
				if target, err := os.Readlink(filepath.Join(s.dst, "hl")); err != nil || target != s.sentinel {
					t.Fatalf("hl = %q, %v; want a symlink to %s", target, err, s.sentinel)
				}
			}},
		{name: "hardlink to directory", blob: ents(dir("d"), hardlink("hl", "d")), err: ErrBadHardlink},
		{name: "chmod through a link",
			blob: tarOf(func(s sandbox) []ent {
				d := dir("ln")
				d.mode = 0o777
				return []ent{symlink("ln", s.outside), d}
			}),
			check: func(t *testing.T, s sandbox) {
				fi, err := os.Lstat(filepath.Join(s.dst, "ln"))
				if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o777 {
					t.Fatalf("ln = %v, %v; want a 0777 directory replacing the symlink", fi.Mode(), err)
				}
			}},
		{name: "root becomes symlink",
			blob: tarOf(func(s sandbox) []ent { return []ent{symlink("./", s.outside)} }), err: ErrRootType},
		{name: "root becomes file", blob: ents(file(".", "x")), err: ErrRootType},
		{name: "root becomes file via slash", blob: ents(file("/.", "x")), err: ErrRootType},
		{name: "whiteout .wh.", blob: ents(file(".wh.", "")), err: ErrUnsafePath},
		{name: "whiteout .wh..", blob: ents(dir("d"), file("d/.wh..", "")), err: ErrUnsafePath},
		{name: "whiteout through dangling symlink",
			blob: ents(symlink("ln", "../outside"), file("ln/.wh.secret", "")), err: ErrBadParent},
		{name: "whiteout through symlink",
			blob: ents(dir("outside"), symlink("ln", "../outside"), file("ln/.wh.secret", "")),
			check: func(t *testing.T, s sandbox) {
				if !isWhiteout(t, filepath.Join(s.dst, "outside", "secret")) {
					t.Fatal("whiteout not created inside the layer")
				}
			}},
		{name: "duplicate file: last wins", blob: ents(file("f", "one"), file("f", "two")), check: wantFile("f", "two")},
		{name: "duplicate dir then file", blob: ents(dir("d"), file("d/x", "1"), file("d", "file")), check: wantFile("d", "file")},
		{name: "duplicate symlink in a subdir: last wins",
			blob: ents(dir("a"), symlink("a/l", "b"), symlink("a/l", "c"), file("a/f", "x")),
			check: func(t *testing.T, s sandbox) {
				if got, err := os.Readlink(filepath.Join(s.dst, "a", "l")); err != nil || got != "c" {
					t.Fatalf("a/l -> %q, %v; want c", got, err)
				}
			}},
		{name: "cached dir replaced by symlink resolves in the layer",
			blob: ents(dir("outside"), dir("a"), dir("a/b"), file("a/b/x", "1"),
				symlink("a/b", "../../outside"), file("a/b/secret", "pwned")),
			check: wantFile("outside/secret", "pwned")},
		{name: "device with huge major", blob: ents(chardev("dev", 1<<20, 1)), err: ErrBadDevice},
		{name: "device with huge minor", blob: ents(chardev("dev", 1, 1<<40)), err: ErrBadDevice},
		{name: "gzip bomb", blob: bomb, opts: UnpackOptions{MaxBytes: 8 << 20, MaxEntries: 100}, err: ErrTooLarge},
		{name: "too many entries", blob: ents(file("a", ""), file("b", ""), file("c", "")),
			opts: UnpackOptions{MaxBytes: 1 << 20, MaxEntries: 2}, err: ErrTooLarge},
		{name: "truncated gzip", blob: func(t testing.TB, s sandbox) []byte { b := gz(t, s); return b[:len(b)/2] },
			err: ErrCorruptLayer},
		{name: "truncated tar", blob: func(t testing.TB, s sandbox) []byte {
			b := buildTar(t, file("a", strings.Repeat("x", 10000)))
			return b[:3000]
		}, err: ErrCorruptLayer},
		{name: "corrupt gzip", blob: func(t testing.TB, s sandbox) []byte {
			b := gz(t, s)
			for i := 20; i < 40; i++ {
				b[i] ^= 0x5a
			}
			return b
		}, err: ErrCorruptLayer},
		{name: "corrupt gzip trailer", blob: func(t testing.TB, s sandbox) []byte {
			b := gz(t, s)
			b[len(b)-6] ^= 0xff // CRC32
			return b
		}, err: ErrCorruptLayer},
		{name: "gzip with trailing garbage", blob: func(t testing.TB, s sandbox) []byte {
			return append(gz(t, s), "trailing garbage"...)
		}, err: ErrCorruptLayer},
		{name: "gzip with a byte of trailing garbage", blob: func(t testing.TB, s sandbox) []byte {
			return append(gz(t, s), 'x')
		}, err: ErrCorruptLayer},
		{name: "concatenated gzip members are one layer (eStargz, pigz)", blob: func(t testing.TB, s sandbox) []byte {
			raw := buildTar(t, file("a", "one"), file("b", "two"))
			return append(gzipBytes(t, raw[:512]), gzipBytes(t, raw[512:])...)
		}, check: wantFile("b", "two")},
		{name: "diff ID mismatch", blob: ents(file("a", "x")),
			opts: UnpackOptions{DiffID: digest.FromString("something else")}, err: ErrDiffIDMismatch},
	}
}

func TestUnpackHostile(t *testing.T) {
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			before := s.snapshot(t)
			_, err := Unpack(context.Background(), bytes.NewReader(tc.blob(t, s)), s.dst, tc.opts)
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("Unpack error = %v, want %v", err, tc.err)
			}
			if tc.err == nil && err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			if after := s.snapshot(t); after != before {
				t.Fatalf("unpack changed files outside dst:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}
