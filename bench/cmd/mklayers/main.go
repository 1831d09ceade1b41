// Command mklayers writes an OCI image layout whose layers are the given tar
// files (gzip-compressed in order, base layer first), for the pull
// benchmark: a realistic multi-layer image made from a debootstrap tree
// split into parts with GNU tar.
//
// Usage: mklayers -o LAYOUT -ref NAME PART.tar...
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func main() {
	out := flag.String("o", "", "output OCI layout directory (must not exist)")
	ref := flag.String("ref", "latest", "org.opencontainers.image.ref.name of the image")
	flag.Parse()
	if err := run(*out, *ref, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "mklayers:", err)
		os.Exit(1)
	}
}

func run(out, ref string, parts []string) error {
	if out == "" || len(parts) == 0 {
		return fmt.Errorf("usage: mklayers -o LAYOUT -ref NAME PART.tar")
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, p := range parts {
		l, err := tarball.LayerFromFile(p, tarball.WithCompressedCaching, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return fmt.Errorf("layer %s: %w", p, err)
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: l, MediaType: types.OCILayer}); err != nil {
			return err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{Cmd: []string{"/bin/sh"}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref}))
}
