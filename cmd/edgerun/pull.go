package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/image"
	"github.com/edgerun/edgerun/images"
)

// registryFlags are the registry options pull and run share.
type registryFlags struct {
	retries  int
	parallel int
}

func addRegistryFlags(f *pflag.FlagSet, opts *images.PullOptions, rf *registryFlags) {
	f.StringArrayVar(&opts.Registry.Insecure, "insecure-registry", nil, "registry (host:port) to reach over plain HTTP (loopback always may)")
	f.StringArrayVar(&opts.Registry.Mirrors, "registry-mirror", nil, "mirror tried before Docker Hub for docker.io images (host:port or http(s)://host:port)")
	f.StringVar(&opts.Registry.CAFile, "tls-ca", "", "PEM file of CA certificates trusted beside the system roots")
	f.IntVar(&rf.retries, "retries", image.DefaultPullRetries, "retries per blob on network errors (with backoff); a later pull resumes anyway")
	f.IntVar(&rf.parallel, "max-concurrent-downloads", image.DefaultPullParallel, "layers downloaded at once")
}

func (rf *registryFlags) apply(opts *images.PullOptions) error {
	if rf.retries < 0 {
		return fmt.Errorf("invalid --retries %d: use 0 or more", rf.retries)
	}
	if rf.parallel < 1 {
		return fmt.Errorf("invalid --max-concurrent-downloads %d: use 1 or more", rf.parallel)
	}
	opts.Attempts, opts.Parallel = rf.retries+1, rf.parallel // the first try and --retries more
	if sec, err := strconv.ParseInt(commitTime, 10, 64); err == nil {
		opts.Registry.ClockFloor = time.Unix(sec, 0) // TLS errors before it blame the clock
	}
	return nil
}

func newPullCommand(g *globalOptions) *cobra.Command {
	var opts images.PullOptions
	var rf registryFlags
	var lf layerLimitFlags
	var quiet bool
	var format, platform string
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Long: "Download an image from a registry: the manifest for this host's platform (or\n" +
			"--platform), verified blob by blob and unpacked layer by layer. An interrupted\n" +
			"pull keeps what it has; the next one resumes where it stopped. Credentials come\n" +
			"from ~/.docker/config.json (edgerun login) and its credential helpers.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if err := rf.apply(&opts); err != nil {
				return err
			}
			var err error
			if opts.MaxLayerRatio, opts.MinFree, err = lf.values(); err != nil {
				return err
			}
			pr, err := newPullProgress(g.Stdout, format, quiet)
			if err != nil {
				return err
			}
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			opts.Events = pr.event
			store, err := rt.Images()
			if err != nil {
				pr.finish(err)
				return err
			}
			if platform != "" {
				opts.Platform, err = image.ParsePlatform(platform)
			}
			var res *image.Pulled
			if err == nil {
				res, err = store.Pull(cmd.Context(), opts)
			}
			pr.finish(err)
			if err != nil {
				return err
			}
			if !quiet && format == "" {
				fmt.Fprintf(g.Stdout, "Digest: %s\n%s\n", res.Digest, familiarName(res.Name))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&platform, "platform", "", "platform to pull from a multi-arch image (os/arch[/variant]); default: this host")
	f.BoolVarP(&quiet, "quiet", "q", false, "print nothing on success")
	f.StringVar(&format, "format", "", "json: one JSON event per line (progress for scripts)")
	addRegistryFlags(f, &opts, &rf)
	addLayerLimitFlags(f, &lf)
	return cmd
}
