package main

import (
	"fmt"

	units "github.com/docker/go-units"
	"github.com/spf13/pflag"

	"github.com/edgerun/edgerun/rootfs"
)

// layerLimitFlags bound what an image may take from the disk, for load,
// pull and run (its pull, and layers it unpacks again).
type layerLimitFlags struct {
	ratio   int
	minFree string
}

func addLayerLimitFlags(f *pflag.FlagSet, lf *layerLimitFlags) {
	f.IntVar(&lf.ratio, "max-layer-ratio", rootfs.DefaultMaxRatio,
		"refuse a layer that unpacks to more than N times its compressed size (a decompression bomb); 0: no limit")
	f.StringVar(&lf.minFree, "min-free", "",
		"free space to keep on --root's file system, e.g. 500m or 2g (default: 5% of it, at least 256 MiB, at most 4 GiB; and 1% of its inodes, at most 4096); 0: no check")
}

// values turns the flags into the library's options: its zero means the
// default and a negative value no limit, where the flags' 0 means none.
func (lf *layerLimitFlags) values() (ratio int, minFree int64, err error) {
	switch {
	case lf.ratio < 0:
		return 0, 0, fmt.Errorf("invalid --max-layer-ratio %d: give a ratio such as 100, or 0 for no limit", lf.ratio)
	case lf.ratio == 0:
		ratio = -1
	default:
		ratio = lf.ratio
	}
	if lf.minFree == "" {
		return ratio, 0, nil
	}
	n, err := units.RAMInBytes(lf.minFree)
	if err != nil || n < 0 {
		return 0, 0, fmt.Errorf("invalid --min-free %q: give a size such as 500m or 2g, or 0 for no check", lf.minFree)
	}
	if n == 0 {
		n = -1
	}
	return ratio, n, nil
}
