package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/edgerun/edgerun/container"
	"github.com/edgerun/edgerun/rootfs"
)

func newCpCommand(g *globalOptions) *cobra.Command {
	var opts container.CopyOptions
	cmd := &cobra.Command{
		Use:   "cp [-a] [-L] CONTAINER:SRC DEST|-  or  cp [-a] [-L] SRC|- CONTAINER:DEST",
		Short: "Copy files between a container's root file system and the host",
		Long: "Copy files or trees between a container (running or stopped) and the host, with\n" +
			"docker cp's rules: SRC/. copies a directory's content; a missing DEST is created\n" +
			"(its parent must exist); a directory DEST receives SRC by name. - reads a tar\n" +
			"stream from standard input (extracted into the directory DEST) or writes one to\n" +
			"standard output. Paths in the container are resolved inside its root file\n" +
			"system: no symlink or .. leads out of it. Paths on the container's mounts\n" +
			"(volumes, bind mounts, tmpfs) are refused: copy to or from their host source.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := container.Open(g.config())
			if err != nil {
				return err
			}
			return runCp(cmd.Context(), g, rt, args[0], args[1], opts)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&opts.Archive, "archive", "a", false, "keep uid and gid (default: the container's root inside, you outside)")
	f.BoolVarP(&opts.FollowLink, "follow-link", "L", false, "follow a symbolic link at SRC")
	return cmd
}

// splitCpArg tells CONTAINER:PATH from a host path, as docker does: a
// path starting with / or . is local whatever it holds.
func splitCpArg(a string) (ctr, p string) {
	if strings.HasPrefix(a, "/") || strings.HasPrefix(a, ".") {
		return "", a
	}
	if c, p, ok := strings.Cut(a, ":"); ok && c != "" {
		return c, p
	}
	return "", a
}

func runCp(ctx context.Context, g *globalOptions, rt *container.Runtime, src, dst string, opts container.CopyOptions) error {
	sc, sp := splitCpArg(src)
	dc, dp := splitCpArg(dst)
	switch {
	case sc != "" && dc != "":
		return errors.New("copying between containers is not supported: copy to the host first")
	case sc == "" && dc == "":
		return errors.New("one of SRC and DEST must be CONTAINER:PATH")
	case sc != "" && dp == "-":
		return rt.CopyFrom(ctx, sc, sp, g.Stdout, opts)
	case sc != "":
		dp, err := filepath.Abs(dp)
		if err != nil {
			return err
		}
		if strings.HasSuffix(dst, "/") {
			dp += "/"
		}
		return pipeCopy(func(w io.Writer) error { return rt.CopyFrom(ctx, sc, sp, w, opts) },
			func(r io.Reader) error {
				return rootfs.CopyInto(ctx, r, "/", dp, rootfs.CopyOptions{KeepOwners: true,
					Extract: rootfs.ExtractOptions{Chown: opts.Archive}})
			})
	case sp == "-":
		return rt.CopyTo(ctx, dc, dp, g.Stdin, true, opts)
	}
	abs, err := filepath.Abs(sp)
	if err != nil {
		return err
	}
	if strings.HasSuffix(sp, "/.") {
		abs += "/."
	} else if strings.HasSuffix(sp, "/") {
		abs += "/"
	}
	if _, err := os.Lstat(abs); err != nil {
		return fmt.Errorf("cp: %w", err)
	}
	return pipeCopy(func(w io.Writer) error {
		return rootfs.Archive(ctx, w, "/", abs, rootfs.ArchiveOptions{FollowLink: opts.FollowLink})
	}, func(r io.Reader) error { return rt.CopyTo(ctx, dc, dp, r, false, opts) })
}

var errReaderStopped = errors.New("the destination stopped reading")

// pipeCopy runs a tar writer and its reader on both ends of a pipe.
func pipeCopy(write func(io.Writer) error, read func(io.Reader) error) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := write(pw)
		pw.CloseWithError(err)
		done <- err
	}()
	rerr := read(pr)
	pr.CloseWithError(errReaderStopped)
	// The first failure is the one to tell: the reader's error merely
	// repeats a writer's, a writer's may be the reader stopping.
	if werr := <-done; werr != nil && !errors.Is(werr, errReaderStopped) {
		return werr
	}
	return rerr
}
