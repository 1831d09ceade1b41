// Command mkimage builds edgerun's demo and test images as OCI image layouts, offline and
// reproducibly: entries are sorted, every timestamp is the epoch (-epoch, else
// $SOURCE_DATE_EPOCH, else 2024-01-01T00:00:00Z), owners are numeric and layers are gzip
// tars written by go-containerregistry.
//
//	mkimage sensor  -o DIR [-ref sensor:latest] -bin linux/amd64=PATH [-bin linux/arm64=PATH ...]
//	mkimage busybox -o DIR [-ref busybox:latest] [-platform linux/amd64] [-exec qemu-aarch64-static] -bin /bin/busybox
//	mkimage tree    -o DIR -ref NAME -src ROOTFS [-platform linux/amd64]
//
// sensor writes a multi-platform image (an image index) when given several binaries.
// tree packs an existing root file system as one layer (used by the benchmark) and prints
// the path of the layer blob.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

// platformFiles collects repeated -bin [PLATFORM=]PATH flags.
type platformFiles []string

func (p *platformFiles) String() string     { return strings.Join(*p, ",") }
func (p *platformFiles) Set(v string) error { *p = append(*p, v); return nil }

func run(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("missing command: use sensor, busybox or tree")
	}
	cmd := args[0]
	fs := flag.NewFlagSet("mkimage "+cmd, flag.ContinueOnError)
	out := fs.String("o", "", "output OCI layout directory (replaced)")
	ref := fs.String("ref", cmd+":latest", "ref.name annotation of the image in index.json")
	plat := fs.String("platform", "linux/"+runtime.GOARCH, "platform of a single-platform image")
	src := fs.String("src", "", "root file system to pack (tree)")
	epoch := fs.String("epoch", os.Getenv("SOURCE_DATE_EPOCH"), "timestamp of every file and of the image, unix seconds")
	level := fs.Int("level", defaultLevel, "gzip compression level")
	runner := fs.String("exec", "", "run the busybox binary through this program to list its applets (qemu-aarch64-static for a foreign one)")
	var bins, env platformFiles
	fs.Var(&bins, "bin", "[PLATFORM=]PATH of a binary to pack (repeatable for sensor)")
	fs.Var(&env, "env", "KEY=VALUE added to the sensor image's environment (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("missing -o DIR")
	}
	t, err := parseEpoch(*epoch)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "mkimage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	b := builder{epoch: t, level: *level, tmp: tmp}
	specs, err := specsFor(cmd, bins, env, *plat, *src, *runner)
	if err != nil {
		return err
	}
	if err := b.writeLayout(*out, *ref, specs); err != nil {
		return err
	}
	if cmd == "tree" {
		blob, err := firstLayerBlob(*out)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, blob)
	}
	return nil
}

func specsFor(cmd string, bins, env platformFiles, plat, src, runner string) ([]imageSpec, error) {
	switch cmd {
	case "sensor":
		if len(bins) == 0 {
			return nil, errors.New("sensor: missing -bin PLATFORM=PATH")
		}
		var specs []imageSpec
		for _, b := range bins {
			pl, path, err := parsePlatformFile(b, plat)
			if err != nil {
				return nil, err
			}
			s, err := sensorSpec(pl, path, env)
			if err != nil {
				return nil, err
			}
			specs = append(specs, s)
		}
		return specs, nil
	case "busybox":
		if len(bins) != 1 {
			return nil, errors.New("busybox: want exactly one -bin PATH (e.g. /bin/busybox from busybox-static)")
		}
		pl, path, err := parsePlatformFile(bins[0], plat)
		if err != nil {
			return nil, err
		}
		applets, err := busyboxApplets(runner, path)
		if err != nil {
			return nil, err
		}
		s, err := busyboxSpec(pl, path, applets)
		return []imageSpec{s}, err
	case "tree":
		return treeSpec(src, plat)
	default:
		return nil, fmt.Errorf("unknown command %q: use sensor, busybox or tree", cmd)
	}
}

func treeSpec(src, plat string) ([]imageSpec, error) {
	if src == "" {
		return nil, errors.New("tree: missing -src ROOTFS")
	}
	pl, err := v1.ParsePlatform(plat)
	if err != nil {
		return nil, fmt.Errorf("parse platform %q: %w", plat, err)
	}
	entries, err := treeEntries(src)
	if err != nil {
		return nil, err
	}
	return []imageSpec{{platform: *pl, entries: entries, createdBy: "edgerun hack/mkimage tree",
		config: v1.Config{Cmd: []string{"/bin/sh"}, Env: []string{defaultPath}, WorkingDir: "/"}}}, nil
}

// parsePlatformFile splits "linux/arm/v7=PATH"; a bare PATH gets def.
func parsePlatformFile(s, def string) (v1.Platform, string, error) {
	plat, path, ok := strings.Cut(s, "=")
	if !ok {
		plat, path = def, s
	}
	pl, err := v1.ParsePlatform(plat)
	if err != nil {
		return v1.Platform{}, "", fmt.Errorf("parse platform %q: %w", plat, err)
	}
	if pl.OS == "" || pl.Architecture == "" || path == "" {
		return v1.Platform{}, "", fmt.Errorf("invalid -bin %q: want os/arch[/variant]=PATH", s)
	}
	return *pl, path, nil
}

// parseEpoch reads unix seconds; empty means 2024-01-01T00:00:00Z.
func parseEpoch(s string) (time.Time, error) {
	if s == "" {
		return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("invalid epoch %q: want unix seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}
