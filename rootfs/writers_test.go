package rootfs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

// describeTree is every node under root with what an unpack sets: type,
// mode, size, owner, mtime (not of directories), link target and a content
// hash.
func describeTree(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(&b, "%s mode=%o uid=%d gid=%d size=%d nlink=%d", rel, st.Mode, st.Uid, st.Gid, st.Size, st.Nlink)
		if st.Mode&unix.S_IFMT != unix.S_IFDIR { // implied directories get the time of the unpack
			fmt.Fprintf(&b, " mtime=%d.%09d", st.Mtim.Sec, st.Mtim.Nsec)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " sha=%x", sha256.Sum256(data))
		case unix.S_IFLNK:
			l, _ := os.Readlink(p)
			fmt.Fprintf(&b, " -> %s", l)
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestWritersProduceTheSameTreeAsTheReader unpacks one layer with the file
// writers and without, and requires the same tree: contents of every size
// (empty, one chunk, several chunks, a partial last chunk), modes with
// setuid, owners, times, a hardlink to a file whose content may still be in
// flight, and a file replaced by a later entry of the same name.
func TestWritersProduceTheSameTreeAsTheReader(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 3*writerChunk/16+1000) // 3 chunks and a tail
	exact := strings.Repeat("x", writerChunk)
	ents := []ent{
		dir("d"),
		file("d/empty", ""),
		file("d/small", "hello"),
		file("d/exact", exact),
		file("d/big", big),
		hardlink("d/big-link", "d/big"),
		file("d/replaced", big),
		file("d/replaced", "second"),
		file("d/suid", "x").owned(0, 0, 0o4755),
		file("d/owned", "y").owned(33, 33, 0o640),
	}
	for i := range 200 {
		ents = append(ents, file(fmt.Sprintf("d/many/%03d", i), strings.Repeat("m", i*37)))
	}
	layer := gzipBytes(t, buildTar(t, ents...))
	var got [2]string
	for i, writers := range []int{-1, 3} {
		s := newSandbox(t)
		st, err := Unpack(context.Background(), bytes.NewReader(layer), s.dst, UnpackOptions{writers: writers})
		if err != nil {
			t.Fatalf("writers %d: %v", writers, err)
		}
		if st.Files != 208 || st.Links != 1 {
			t.Fatalf("writers %d: stats %+v", writers, st)
		}
		got[i] = describeTree(t, s.dst)
	}
	if got[0] != got[1] {
		t.Fatalf("trees differ:\nreader:\n%s\nwriters:\n%s", got[0], got[1])
	}
	if !strings.Contains(got[1], "d/replaced mode=100644 ") || !strings.Contains(strings.SplitAfter(got[1], "d/replaced ")[1], " size=6 ") {
		t.Fatalf("replaced file not the second one:\n%s", got[1])
	}
}

// TestWritersFailureStopsTheUnpack makes a writer fail (the destination
// file system runs out of space under a file's content) and requires the
// unpack to fail with that error, naming the file, and to leave no
// descriptor open.
func TestWritersFailureStopsTheUnpack(t *testing.T) {
	testenv.RequireRoot(t, "mount a small tmpfs")
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	ents := []ent{file("a", "small")}
	for i := range 8 {
		ents = append(ents, file(fmt.Sprintf("big%d", i), strings.Repeat("z", 512<<10)))
	}
	layer := gzipBytes(t, buildTar(t, ents...))
	fds := openFDs(t)
	_, err := Unpack(context.Background(), bytes.NewReader(layer), mnt, UnpackOptions{MinFree: -1, writers: 2})
	// Which file meets the full file system depends on the writers'
	// order: the small one too, once the big ones took the space.
	if err == nil || !strings.Contains(err.Error(), "no space left on device") || !regexp.MustCompile(`unpack "(a|big[0-7])"`).MatchString(err.Error()) {
		t.Fatalf("want a write failure naming a file of the layer, got %v", err)
	}
	if after := openFDs(t); after != fds {
		t.Fatalf("descriptors open: %d before, %d after", fds, after)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}
