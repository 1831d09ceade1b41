// Command unpack is edgerun's side of `make bench`: it extracts one layer blob (gzip, zstd
// or plain tar) into a new directory with rootfs.Unpack, exactly as the layer cache does
// minus the final sync, and prints the unpack statistics to stderr.
//
//	unpack BLOB DEST
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/edgerun/edgerun/rootfs"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "unpack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) != 2 {
		return errors.New("usage: unpack BLOB DEST (DEST must not exist or be empty)")
	}
	blob, dst := args[0], args[1]
	f, err := os.Open(blob)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.Mkdir(dst, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	st, err := rootfs.Unpack(ctx, f, dst)
	if err != nil {
		return fmt.Errorf("unpack %s into %s: %w", blob, dst, err)
	}
	fmt.Fprintf(os.Stderr, "unpack: %d entries (%d files, %d dirs, %d symlinks, %d hardlinks, %d devices), %d bytes, %s\n",
		st.Entries, st.Files, st.Dirs, st.Symlinks, st.Links, st.Devices, st.Bytes, st.DiffID)
	return nil
}
