package reliability

import (
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// layerCorpus is rootfs/hostile_test.go's hostile layers, each as the one
// layer of an image: refused, or unpacked inside the layer by design.
func layerCorpus() []hostile {
	refuse := func(name, want string, in func(*testing.T, host, string) string) hostile {
		return hostile{name: "layer: " + name, input: in, want: want}
	}
	inside := func(name string, in func(*testing.T, host, string) string) hostile {
		return hostile{name: "layer: " + name, input: in, contained: true}
	}
	gz := func(t *testing.T) ([]byte, []byte) {
		tr := tarOf(t, entFile("a", strings.Repeat("payload ", 4096)), entFile("b", "x"))
		return gzipOf(t, tr), tr
	}
	return []hostile{
		refuse("dotdot", "", layerEntries(entFile("../outside/secret", "pwned"))),
		refuse("dotdot nested", "", layerEntries(entDir("a"), entFile("a/../../outside/secret", "pwned"))),
		inside("absolute path is rooted in the layer", layerOf(func(h host) []ent { return []ent{entFile(h.secret, "pwned")} })),
		refuse("absolute symlink parent, dangling in the layer", "", layerOf(func(h host) []ent {
			return []ent{entSymlink("ln", h.outside), entFile("ln/secret", "pwned")}
		})),
		inside("absolute symlink parent resolves in the layer", layerEntries(entDir("etc"), entSymlink("ln", "/etc"), entFile("ln/secret", "pwned"))),
		refuse("relative symlink parent, dangling in the layer", "", layerEntries(entSymlink("ln", "../../../../outside"), entFile("ln/secret", "pwned"))),
		inside("relative symlink parent resolves in the layer", layerEntries(entDir("outside"), entSymlink("ln", "../../../../outside"), entFile("ln/secret", "pwned"))),
		inside("symlink chain", layerEntries(entDir("outside"), entSymlink("a", "b"), entSymlink("b", "../../outside"), entFile("a/secret", "pwned"))),
		refuse("symlink chain, dangling", "", layerEntries(entSymlink("a", "b"), entSymlink("b", "../../outside"), entFile("a/secret", "pwned"))),
		refuse("file as parent", "", layerEntries(entFile("f", "x"), entFile("f/g", "y"))),
		inside("symlinked parent dir", layerEntries(entDir("d"), entSymlink("d/up", "../.."), entFile("d/up/outside/secret", "pwned"))),
		inside("symlink replaced by a file is not followed", layerOf(func(h host) []ent {
			return []ent{entSymlink("ln", h.secret), entFile("ln", "mine")}
		})),
		refuse("hardlink to an absolute host file", "", layerOf(func(h host) []ent { return []ent{entHardlink("hl", h.secret)} })),
		refuse("hardlink climbing out", "", layerEntries(entHardlink("hl", "../outside/secret"))),
		refuse("hardlink through a symlink", "", layerOf(func(h host) []ent {
			return []ent{entSymlink("ln", h.dir), entHardlink("hl", "ln/secret")}
		})),
		inside("hardlink to a symlink links the symlink", layerOf(func(h host) []ent {
			return []ent{entSymlink("ln", h.secret), entHardlink("hl", "ln")}
		})),
		refuse("hardlink to a directory", "", layerEntries(entDir("d"), entHardlink("hl", "d"))),
		inside("chmod through a link", layerOf(func(h host) []ent {
			d := entDir("ln")
			d.mode = 0o777
			return []ent{entSymlink("ln", h.dir), d}
		})),
		refuse("root becomes a symlink", "", layerOf(func(h host) []ent { return []ent{entSymlink("./", h.dir)} })),
		refuse("root becomes a file", "", layerEntries(entFile(".", "x"))),
		refuse("root becomes a file via slash", "", layerEntries(entFile("/.", "x"))),
		refuse("whiteout .wh.", "", layerEntries(entFile(".wh.", ""))),
		refuse("whiteout .wh..", "", layerEntries(entDir("d"), entFile("d/.wh..", ""))),
		refuse("whiteout through a dangling symlink", "", layerEntries(entSymlink("ln", "../outside"), entFile("ln/.wh.secret", ""))),
		inside("whiteout through a symlink", layerEntries(entDir("outside"), entSymlink("ln", "../outside"), entFile("ln/.wh.secret", ""))),
		inside("duplicate file: last wins", layerEntries(entFile("f", "one"), entFile("f", "two"))),
		inside("duplicate dir then file", layerEntries(entDir("d"), entFile("d/x", "1"), entFile("d", "file"))),
		inside("cached dir replaced by a symlink resolves in the layer", layerEntries(entDir("outside"), entDir("a"), entDir("a/b"),
			entFile("a/b/x", "1"), entSymlink("a/b", "../../outside"), entFile("a/b/secret", "pwned"))),
		refuse("device with a huge major", "", layerEntries(entChardev("dev", 1<<20, 1))),
		refuse("device with a huge minor", "", layerEntries(entChardev("dev", 1, 1<<40))),
		refuse("truncated gzip", "", archive(func(t *testing.T, _ host) []byte {
			b, tr := gz(t)
			return ociArchive(t, gzipLayer(b[:len(b)/2], tr), tweaks{})
		})),
		refuse("truncated tar", "", archive(func(t *testing.T, _ host) []byte {
			tr := tarOf(t, entFile("a", strings.Repeat("x", 10000)))
			return ociArchive(t, layer{blob: tr[:3000], mediaType: ocispec.MediaTypeImageLayer, diffID: digest.FromBytes(tr)}, tweaks{})
		})),
		refuse("corrupt gzip", "", archive(func(t *testing.T, _ host) []byte {
			b, tr := gz(t)
			for i := 20; i < 40; i++ {
				b[i] ^= 0x5a
			}
			return ociArchive(t, gzipLayer(b, tr), tweaks{})
		})),
		refuse("corrupt gzip trailer", "", archive(func(t *testing.T, _ host) []byte {
			b, tr := gz(t)
			b[len(b)-6] ^= 0xff // CRC32
			return ociArchive(t, gzipLayer(b, tr), tweaks{})
		})),
		refuse("gzip with trailing garbage", "", archive(func(t *testing.T, _ host) []byte {
			b, tr := gz(t)
			return ociArchive(t, gzipLayer(append(b, "TRAILING GARBAGE"...), tr), tweaks{})
		})),
	}
}
