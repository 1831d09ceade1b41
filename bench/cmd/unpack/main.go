// Command unpack is edgerun's side of `make bench`: it extracts one layer blob (gzip, zstd
// or plain tar) into a new directory and prints the unpack statistics to stderr.
//
//	unpack [-mode shipped|nosync|cache] [-diffid DIGEST] [-cpuprofile FILE] BLOB DEST
//
// Modes:
//
//	shipped  rootfs.Unpack, then one syncfs(2) of DEST's filesystem: the work and the
//	         durability of Cache.Ensure, without its locks, marker and rename (default)
//	nosync   rootfs.Unpack only; dirty pages are left to the kernel, as tar and umoci
//	         leave them. For benchmarks only: a layer published this way is not durable.
//	cache    rootfs.OpenCache(DEST).Ensure of the blob (needs -diffid): the real path,
//	         with diff ID verification, staging dir, marker, syncfs and rename
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/edgerun/edgerun/rootfs"
	digest "github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

type options struct {
	mode, diffID, cpuProfile string
	blob, dst                string
}

func main() {
	var o options
	fs := flag.NewFlagSet("unpack", flag.ExitOnError)
	fs.StringVar(&o.mode, "mode", "shipped", "shipped, nosync or cache")
	fs.StringVar(&o.diffID, "diffid", "", "diff ID of the layer (required by -mode cache)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile to this file")
	_ = fs.Parse(os.Args[1:]) // ExitOnError
	if fs.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: unpack [-mode shipped|nosync|cache] [-diffid D] [-cpuprofile F] BLOB DEST")
		os.Exit(2)
	}
	o.blob, o.dst = fs.Arg(0), fs.Arg(1)
	if err := profiled(o.cpuProfile, func() error { return run(context.Background(), o) }); err != nil {
		fmt.Fprintln(os.Stderr, "unpack:", err)
		os.Exit(1)
	}
}

func profiled(file string, f func() error) error {
	if file == "" {
		return f()
	}
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	defer out.Close()
	if err := pprof.StartCPUProfile(out); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return f()
}

func run(ctx context.Context, o options) error {
	if o.mode == "cache" {
		return runCache(ctx, o)
	}
	if o.mode != "shipped" && o.mode != "nosync" {
		return fmt.Errorf("unknown -mode %q: want shipped, nosync or cache", o.mode)
	}
	f, err := os.Open(o.blob)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.Mkdir(o.dst, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	st, err := rootfs.Unpack(ctx, f, o.dst, rootfs.UnpackOptions{})
	if err != nil {
		return fmt.Errorf("unpack %s into %s: %w", o.blob, o.dst, err)
	}
	if o.mode == "shipped" {
		if err := syncfs(o.dst); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "unpack: %d entries (%d files, %d dirs, %d symlinks, %d hardlinks, %d devices), %d bytes, %s\n",
		st.Entries, st.Files, st.Dirs, st.Symlinks, st.Links, st.Devices, st.Bytes, st.DiffID)
	return nil
}

func runCache(ctx context.Context, o options) error {
	d, err := digest.Parse(o.diffID)
	if err != nil {
		return fmt.Errorf("-mode cache needs -diffid: %w", err)
	}
	c, err := rootfs.OpenCache(o.dst, rootfs.CacheOptions{})
	if err != nil {
		return err
	}
	open := func() (io.ReadCloser, error) { return os.Open(o.blob) }
	dirs, err := c.Ensure(ctx, []rootfs.Layer{{DiffID: d, Open: open}})
	if err != nil {
		return fmt.Errorf("ensure %s in cache %s: %w", o.blob, o.dst, err)
	}
	fmt.Fprintf(os.Stderr, "unpack: layer %s published in %s\n", d, dirs[0])
	return nil
}

// syncfs flushes the filesystem holding path, as Cache.Ensure does once per layer.
func syncfs(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("syncfs %s: %w", path, err)
	}
	return nil
}
