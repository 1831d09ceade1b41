package rootfs

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/edgerun/edgerun/internal/testenv"
)

// TestUnpackSkipsOnlyNoOpOwnerAndModeChanges checks that skipping chown and
// chmod for nodes that are created right never leaves a wrong owner or mode:
// under a setgid root, under a umask that masks the tar's bits, and with
// setuid bits.
func TestUnpackSkipsOnlyNoOpOwnerAndModeChanges(t *testing.T) {
	testenv.RequireRoot(t, "chown files to other users")
	single := idMode(t) == "single" // only ID 0 exists
	tests := []struct {
		name      string
		rootMode  uint32
		rootGID   int
		umask     int
		mode      int64
		uid, gid  int
		wantMode  uint32
		wantOwner [2]uint32
	}{
		{name: "root file 0644", rootMode: 0o755, umask: 0o022, mode: 0o644, wantMode: 0o644},
		{name: "umask masks tar bits", rootMode: 0o755, umask: 0o022, mode: 0o666, wantMode: 0o666},
		{name: "umask 077", rootMode: 0o755, umask: 0o077, mode: 0o755, wantMode: 0o755},
		{name: "setuid kept", rootMode: 0o755, umask: 0o022, mode: 0o4755, wantMode: 0o4755},
		{name: "setgid root dir does not lend its group", rootMode: 0o2775, rootGID: 1234, umask: 0o022,
			mode: 0o644, wantMode: 0o644},
		{name: "other owner", rootMode: 0o755, umask: 0o022, mode: 0o640, uid: 1000, gid: 1001,
			wantMode: 0o640, wantOwner: [2]uint32{1000, 1001}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if single && tc.rootGID != 0 {
				t.Logf("gid %d does not exist under the single-ID mapping: a setgid root of another group cannot be made", tc.rootGID)
				return
			}
			if single {
				tc.wantOwner = [2]uint32{} // other owners belong to root
			}
			dst := filepath.Join(t.TempDir(), "dst")
			if err := os.Mkdir(dst, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dst, 0, tc.rootGID); err != nil {
				t.Fatal(err)
			}
			if err := unix.Chmod(dst, tc.rootMode); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, h := range []*tar.Header{
				{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: tc.uid, Gid: tc.gid},
				{Name: "d/f", Typeflag: tar.TypeReg, Mode: tc.mode, Uid: tc.uid, Gid: tc.gid, Size: 2},
			} {
				h.ModTime = time.Unix(1_600_000_000, 0)
				if err := tw.WriteHeader(h); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := tw.Write([]byte("hi")); err != nil { // the body of d/f
				t.Fatal(err)
			}
			if err := tw.Close(); err != nil {
				t.Fatal(err)
			}
			old := unix.Umask(tc.umask)
			_, err := Unpack(context.Background(), bytes.NewReader(buf.Bytes()), dst, UnpackOptions{})
			unix.Umask(old)
			if err != nil {
				t.Fatal(err)
			}
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(dst, "d", "f"), &st); err != nil {
				t.Fatal(err)
			}
			if got := st.Mode & 0o7777; got != tc.wantMode {
				t.Errorf("mode %o, want %o", got, tc.wantMode)
			}
			if got := [2]uint32{st.Uid, st.Gid}; got != tc.wantOwner {
				t.Errorf("owner %v, want %v", got, tc.wantOwner)
			}
		})
	}
}
