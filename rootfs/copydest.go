package rootfs

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
)

// Errors of CopyInto that docker's cp rules give.
var (
	ErrCopyDirToFile = errors.New("cannot copy a directory over a file")
	ErrCopyNoDest    = errors.New("destination directory does not exist")
)

// CopyOptions configures CopyInto.
type CopyOptions struct {
	// Stream extracts a tar stream from outside as it is into dest, which
	// must be an existing directory (cp - CONTAINER:DEST). Without it the
	// stream is one that Archive wrote, placed by docker's rules.
	Stream bool
	// KeepOwners keeps the stream's uid and gid (cp -a); without it every
	// entry is owned by 0:0 (the container's root, cp's default).
	KeepOwners bool
	// Extract's options: Chown applies the owners at all (off: new files
	// belong to the caller, as on the host side of cp).
	Extract ExtractOptions
}

// CopyInto extracts r to dest inside root with `docker cp`'s rules: into
// dest when it is a directory (a tree named "NAME" lands at dest/NAME, a
// "." stream's content in dest), as dest itself when it does not exist
// (its parent must) or is a file that a file replaces. dest and its
// parents are resolved inside root with pathrs-lite; the extraction is
// Extract's, confined to the directory it writes into.
func CopyInto(ctx context.Context, r io.Reader, root, dest string, opts CopyOptions) error {
	rf, err := os.OpenFile(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", root, err)
	}
	defer rf.Close()
	tr := tar.NewReader(r)
	first, err := tr.Next()
	if err != nil {
		return fmt.Errorf("read the archive: %w", streamErr(err))
	}
	target, rename, err := copyTarget(rf, dest, first, opts.Stream)
	if err != nil {
		return err
	}
	defer target.Close()
	top := strings.TrimSuffix(path.Clean(first.Name), "/")
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(rewriteTar(tr, first, pw, top, rename, opts.KeepOwners))
	}()
	_, err = Extract(ctx, pr, target, opts.Extract)
	pr.CloseWithError(errors.New("extraction stopped"))
	return err
}

// copyTarget opens the directory the stream goes into and the name its
// top entry takes there ("" keeps the name).
func copyTarget(rf *os.File, dest string, first *tar.Header, stream bool) (*os.File, string, error) {
	rel := strings.TrimLeft(path.Clean("/"+dest), "/")
	if rel == "" {
		rel = "."
	}
	slash := strings.HasSuffix(dest, "/") || strings.HasSuffix(dest, "/.")
	srcDir := first.Typeflag == tar.TypeDir
	h, err := pathrs.OpenatInRoot(rf, rel)
	switch {
	case err == nil:
		var st unix.Stat_t
		if err := unix.Fstat(int(h.Fd()), &st); err != nil {
			h.Close()
			return nil, "", fmt.Errorf("%s: %w", dest, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			return h, "", nil
		}
		// A file, or a link to one: the file it resolves to (inside
		// the root) is replaced, as docker does.
		real, rerr := pathInRoot(rf, h)
		h.Close()
		if stream || srcDir {
			return nil, "", fmt.Errorf("%s: %w", dest, ErrCopyDirToFile)
		}
		if rerr != nil {
			return nil, "", fmt.Errorf("%s: %w", dest, rerr)
		}
		rel = real
	case !errors.Is(err, unix.ENOENT):
		return nil, "", pathErr(dest, err)
	case stream || (slash && !srcDir):
		return nil, "", fmt.Errorf("%s: %w", dest, ErrCopyNoDest)
	}
	parent, err := pathrs.OpenatInRoot(rf, path.Dir(rel))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w: %w", path.Dir(dest), ErrCopyNoDest, pathErr(path.Dir(dest), err))
	}
	return parent, path.Base(rel), nil
}

// rewriteTar copies the stream with the top entry renamed to rename
// (when set) and owners reset to 0:0 unless keepOwners.
func rewriteTar(tr *tar.Reader, hdr *tar.Header, w io.Writer, top, rename string, keepOwners bool) error {
	tw := tar.NewWriter(w)
	for {
		if rename != "" {
			hdr.Name = rebase(hdr.Name, top, rename)
			if hdr.Typeflag == tar.TypeLink {
				hdr.Linkname = rebase(hdr.Linkname, top, rename)
			}
		}
		if !keepOwners {
			hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
		var err error
		if hdr, err = tr.Next(); errors.Is(err, io.EOF) {
			return tw.Close()
		} else if err != nil {
			return err
		}
	}
}

// rebase renames the first component of name from top to to; top "."
// puts every name under to.
func rebase(name, top, to string) string {
	clean := path.Clean(name)
	switch {
	case top == "." && clean == ".":
		return to
	case top == ".":
		return path.Join(to, clean)
	case clean == top:
		return to
	case strings.HasPrefix(clean, top+"/"):
		return to + clean[len(top):]
	}
	return name
}

// pathInRoot returns where inside root the handle h is, from the
// kernel's name of both; the caller resolves it again inside the root,
// so a rename meanwhile cannot lead out of it.
func pathInRoot(rf, h *os.File) (string, error) {
	r, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(rf.Fd())))
	if err != nil {
		return "", err
	}
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(int(h.Fd())))
	if err != nil {
		return "", err
	}
	rel, ok := strings.CutPrefix(p, strings.TrimSuffix(r, "/")+"/")
	if !ok || rel == "" {
		return "", fmt.Errorf("%s is not inside %s", p, r)
	}
	return rel, nil
}
