// Command vmbench measures, inside a test VM (make bench-arm64, hack/vm/bench.sh), the two
// figures issue 19 asks of small devices, as ratios taken in one interleaved run:
//
//	vmbench start -edgerun E -root R -state S -runc RUNC -dir D [-rounds N] [-image REF]
//	vmbench unpack -unpack U -blob B -dir D [-runs N]
//
// start times `E run --rm --network none REF true` against Debian's runc running a bundle of the
// same busybox (the VM's own) bare, as `runc spec` makes it, and with the seccomp section of
// the config.json edgerun generates for REF here. unpack times bench/cmd/unpack (rootfs.Unpack
// and one syncfs) against `tar -xzf` of the VM's busybox on the same gzip layer. Commands run in
// rounds, one of each per round, after one warmup round. It prints one "vmbench:" line per
// figure; hack/vm/bench.sh reads them.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "start":
		err = start(os.Args[2:])
	case "unpack":
		err = unpack(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmbench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: vmbench start -edgerun E -root R -state S -runc RUNC -dir D [-rounds N] | unpack -unpack U -blob B -dir D [-runs N]")
	os.Exit(2)
}

// command is one contestant: its name, its argv and what to do before each run (untimed).
type command struct {
	name    string
	argv    []string
	prepare func() error
	times   []time.Duration
}

// rounds runs every command once per round, warmup rounds first (not kept), and prints each
// one's median.
func rounds(cmds []*command, warmup, n int) error {
	for r := range warmup + n {
		for _, c := range cmds {
			if c.prepare != nil {
				if err := c.prepare(); err != nil {
					return fmt.Errorf("%s: prepare: %w", c.name, err)
				}
			}
			cmd := exec.Command(c.argv[0], c.argv[1:]...)
			cmd.Stderr = os.Stderr
			t0 := time.Now()
			if err := cmd.Run(); err != nil {
				return fmt.Errorf("%s: %v: %w", c.name, c.argv, err)
			}
			if d := time.Since(t0); r >= warmup {
				c.times = append(c.times, d)
			}
		}
	}
	for _, c := range cmds {
		fmt.Printf("vmbench: %s median %.1f ms (min %.1f, max %.1f, %d runs)\n", c.name, ms(median(c.times)),
			ms(slices.Min(c.times)), ms(slices.Max(c.times)), len(c.times))
	}
	return nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func ratio(name string, a, b *command) {
	fmt.Printf("vmbench: ratio %s %.3f\n", name, float64(median(a.times))/float64(median(b.times)))
}

func start(args []string) error {
	fs := flag.NewFlagSet("start", flag.ExitOnError)
	edgerun := fs.String("edgerun", "/usr/local/bin/edgerun", "edgerun binary")
	root := fs.String("root", "/var/lib/vmbench", "edgerun --root")
	state := fs.String("state", "/run/vmbench", "edgerun --state")
	runc := fs.String("runc", "/usr/sbin/runc", "runc binary")
	dir := fs.String("dir", "/tmp/vmbench", "where the bundles go")
	image := fs.String("image", "busybox:latest", "a loaded image with true")
	n := fs.Int("rounds", 15, "timed rounds")
	_ = fs.Parse(args)
	er := []string{*edgerun, "--root", *root, "--state", *state}

	// The seccomp section edgerun generates here, from a created container's config.json.
	if out, err := exec.Command(er[0], append(er[1:], "create", "--name", "vmbench-src", "--network", "none", *image, "true")...).CombinedOutput(); err != nil {
		return fmt.Errorf("edgerun create: %w: %s", err, out)
	}
	found, _ := filepath.Glob(filepath.Join(*root, "containers", "*", "config.json"))
	if len(found) != 1 {
		return fmt.Errorf("want one config.json under %s/containers, found %d", *root, len(found))
	}
	var erSpec map[string]any
	if err := readJSON(found[0], &erSpec); err != nil {
		return err
	}
	if out, err := exec.Command(er[0], append(er[1:], "rm", "vmbench-src")...).CombinedOutput(); err != nil {
		return fmt.Errorf("edgerun rm: %w: %s", err, out)
	}
	linux, _ := erSpec["linux"].(map[string]any)
	seccomp := linux["seccomp"]
	if seccomp == nil {
		return errors.New("edgerun's config.json has no seccomp section")
	}

	// The bundles: the VM's busybox as the root file system, `runc spec` as the config.
	rootfs := filepath.Join(*dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("cp", "/bin/busybox", filepath.Join(rootfs, "bin", "busybox")).CombinedOutput(); err != nil {
		return fmt.Errorf("copy busybox: %w: %s", err, out)
	}
	_ = os.Symlink("busybox", filepath.Join(rootfs, "bin", "true"))
	specDir := filepath.Join(*dir, "spec")
	_ = os.MkdirAll(specDir, 0o755)
	_ = os.Remove(filepath.Join(specDir, "config.json"))
	cmd := exec.Command(*runc, "spec")
	cmd.Dir = specDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("runc spec: %w: %s", err, out)
	}
	var spec map[string]any
	if err := readJSON(filepath.Join(specDir, "config.json"), &spec); err != nil {
		return err
	}
	proc := spec["process"].(map[string]any)
	proc["terminal"], proc["args"] = false, []string{"true"}
	spec["root"] = map[string]any{"path": rootfs, "readonly": true}
	sl := spec["linux"].(map[string]any)
	nss, _ := sl["namespaces"].([]any)
	hasNet := slices.ContainsFunc(nss, func(v any) bool { m, _ := v.(map[string]any); return m["type"] == "network" })
	if !hasNet {
		sl["namespaces"] = append(nss, map[string]any{"type": "network"})
	}
	bare := filepath.Join(*dir, "bare")
	if err := writeJSON(filepath.Join(bare, "config.json"), spec); err != nil {
		return err
	}
	sl["seccomp"] = seccomp
	withSC := filepath.Join(*dir, "seccomp")
	if err := writeJSON(filepath.Join(withSC, "config.json"), spec); err != nil {
		return err
	}

	runcRoot := filepath.Join(*dir, "runc-state")
	cmds := []*command{
		{name: "edgerun", argv: append(slices.Clone(er), "run", "--rm", "--network", "none", *image, "true")},
		{name: "runc", argv: []string{*runc, "--root", runcRoot, "run", "--bundle", bare, "vmbench-bare"}},
		{name: "runc-seccomp", argv: []string{*runc, "--root", runcRoot, "run", "--bundle", withSC, "vmbench-sc"}},
	}
	if err := rounds(cmds, 1, *n); err != nil {
		return err
	}
	ratio("start edgerun/runc", cmds[0], cmds[1])
	ratio("start runc-seccomp/runc", cmds[2], cmds[1])
	ratio("start edgerun/runc-seccomp", cmds[0], cmds[2])
	return nil
}

func unpack(args []string) error {
	fs := flag.NewFlagSet("unpack", flag.ExitOnError)
	unpacker := fs.String("unpack", "/bench/unpack", "bench/cmd/unpack binary")
	blob := fs.String("blob", "/bench/layer.blob", "a gzip layer")
	dir := fs.String("dir", "/tmp/vmbench-unpack", "where the trees go (removed before each run)")
	n := fs.Int("runs", 3, "timed rounds")
	_ = fs.Parse(args)
	dst := filepath.Join(*dir, "dst")
	fresh := func() error {
		if err := os.RemoveAll(*dir); err != nil {
			return err
		}
		return os.MkdirAll(*dir, 0o755)
	}
	cmds := []*command{
		{name: "edgerun unpack", argv: []string{*unpacker, *blob, dst}, prepare: fresh},
		{name: "tar -xzf", argv: []string{"sh", "-c", `mkdir "$1" && tar -xzf "$2" -C "$1"`, "sh", dst, *blob}, prepare: fresh},
	}
	if err := rounds(cmds, 1, *n); err != nil {
		return err
	}
	ratio("unpack edgerun/tar", cmds[0], cmds[1])
	return fresh()
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
