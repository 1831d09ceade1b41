package rootfs

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// copyTree builds a source tree:
//
//	dir/f         "f"
//	dir/sub/g     "g"
//	dir/.wh.x     "not a whiteout"
//	dir/out -> /  a link that must stay a link
//	file          "file"
//	link -> file
func copyTree(t *testing.T) string {
	t.Helper()
	src := t.TempDir()
	for name, content := range map[string]string{"dir/f": "f", "dir/sub/g": "g", "dir/.wh.x": "not a whiteout", "file": "file"} {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"dir/out": "/", "link": "file"} {
		if err := os.Symlink(target, filepath.Join(src, link)); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

// listTree lists a tree's paths with a marker for links and directories.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			rel += "->" + target
		case fi.IsDir():
			rel += "/"
		default:
			b, _ := os.ReadFile(p)
			rel += "=" + string(b)
		}
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func copyBetween(t *testing.T, src, srcPath, dst, dest string, follow bool) error {
	t.Helper()
	var buf bytes.Buffer
	if err := Archive(context.Background(), &buf, src, srcPath, ArchiveOptions{FollowLink: follow}); err != nil {
		return err
	}
	return CopyInto(context.Background(), &buf, dst, dest, CopyOptions{KeepOwners: true})
}

func TestCopyFollowsDockerRules(t *testing.T) {
	dirTree := []string{"d/", "d/.wh.x=not a whiteout", "d/f=f", "d/out->/", "d/sub/", "d/sub/g=g"}
	tests := []struct {
		name      string
		srcPath   string
		follow    bool
		setup     []string // directories made in the destination first; "x=..." a file
		dest      string
		want      []string
		wantErr   error
		wantInErr string
	}{
		{"file to a new name", "file", false, nil, "/new", []string{"new=file"}, nil, ""},
		{"file into a directory", "file", false, []string{"d"}, "/d", []string{"d/", "d/file=file"}, nil, ""},
		{"file over a file", "file", false, []string{"x=old"}, "/x", []string{"x=file"}, nil, ""},
		{"file to a missing directory", "file", false, nil, "/nodir/", nil, ErrCopyNoDest, ""},
		{"file under a missing parent", "file", false, nil, "/a/b", nil, ErrCopyNoDest, ""},
		{"link as a link", "link", false, nil, "/l", []string{"l->file"}, nil, ""},
		{"link followed", "link", true, nil, "/l", []string{"l=file"}, nil, ""},
		{"directory to a new name", "dir", false, nil, "/d", dirTree, nil, ""},
		{"directory into a directory", "dir", false, []string{"e"}, "/e", append([]string{"e/"}, prefixAll("e/", renameTop(dirTree, "dir"))...), nil, ""},
		{"directory content into a directory", "dir/.", false, []string{"d"}, "/d", dirTree, nil, ""},
		{"directory content to a new name", "dir/.", false, nil, "/d", dirTree, nil, ""},
		{"directory over a file", "dir", false, []string{"x=old"}, "/x", nil, ErrCopyDirToFile, ""},
		{"file as a directory", "file/.", false, nil, "/x", nil, ErrNotDir, ""},
		{"source climbing out stays in the root", "../../../../file", false, nil, "/x", []string{"x=file"}, nil, ""},
		{"missing source", "nothing", false, nil, "/x", nil, nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, dst := copyTree(t), t.TempDir()
			for _, s := range tt.setup {
				if n, content, ok := strings.Cut(s, "="); ok {
					if err := os.WriteFile(filepath.Join(dst, n), []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				} else {
					if err := os.MkdirAll(filepath.Join(dst, s), 0o755); err != nil {
						t.Fatal(err)
					}
				}
			}
			err := copyBetween(t, src, tt.srcPath, dst, tt.dest, tt.follow)
			switch {
			case tt.wantErr != nil || tt.wantInErr != "":
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.wantInErr) {
					t.Fatalf("err = %v, want %v %q", err, tt.wantErr, tt.wantInErr)
				}
			case err != nil:
				t.Fatal(err)
			default:
				if got := listTree(t, dst); !slices.Equal(got, tt.want) {
					t.Fatalf("destination holds\n%q\nwant\n%q", got, tt.want)
				}
			}
		})
	}
}

func prefixAll(p string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = p + s
	}
	return out
}

func renameTop(list []string, to string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = to + strings.TrimPrefix(s, "d")
	}
	return out
}

// TestCopyNeverLeavesTheRoot: a hostile tree's links to / and into the
// host may be followed for the destination only inside the root, and a
// source reached through them is read only inside it.
func TestCopyNeverLeavesTheRoot(t *testing.T) {
	host := t.TempDir() // stands for the host's /etc
	if err := os.WriteFile(filepath.Join(host, "passwd"), []byte("host secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir() // the container's root file system
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("container"), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"evil": host, "up": "../../../../../../" + host, "pw": filepath.Join(host, "passwd")} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	src := copyTree(t)
	for _, dest := range []string{"/evil", "/evil/", "/evil/passwd", "/up/passwd", "/pw", "/up/"} {
		_ = copyBetween(t, src, "file", root, dest, false)
	}
	_ = copyBetween(t, src, "dir", root, "/evil", false)
	if got := listTree(t, host); !slices.Equal(got, []string{"passwd=host secret"}) {
		t.Fatalf("the host directory changed: %q", got)
	}
	for _, p := range []string{"evil/passwd", "up/passwd", "pw"} {
		for _, follow := range []bool{false, true} {
			var buf bytes.Buffer
			if err := Archive(context.Background(), &buf, root, p, ArchiveOptions{FollowLink: follow}); err != nil {
				continue
			}
			tr := tar.NewReader(&buf)
			for {
				_, err := tr.Next()
				if err != nil {
					break
				}
				b, _ := io.ReadAll(tr)
				if strings.Contains(string(b), "host secret") {
					t.Fatalf("cp %s (follow %v) read the host's file", p, follow)
				}
			}
		}
	}
}

func TestCopyStreamNeedsADirectory(t *testing.T) {
	dst := t.TempDir()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{"../../escape", "/abs", "ok"} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	err := CopyInto(context.Background(), bytes.NewReader(buf.Bytes()), dst, "/missing", CopyOptions{Stream: true})
	if !errors.Is(err, ErrCopyNoDest) {
		t.Fatalf("stream to a missing directory: %v", err)
	}
	err = CopyInto(context.Background(), bytes.NewReader(buf.Bytes()), dst, "/", CopyOptions{Stream: true})
	if !errors.Is(err, ErrUnsafePath) {
		t.Fatalf("a name climbing out: %v, want ErrUnsafePath", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(dst)), "escape")); err == nil {
		t.Fatal("../../escape was written outside the destination")
	}
}
