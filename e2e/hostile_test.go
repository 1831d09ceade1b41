package e2e

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// entry is one tar entry of a test layer.
type entry struct {
	name, link string // link: symlink target when set
	body       string
	dir        bool
	uid, gid   int   // owner (0:0 unless set)
	mode       int64 // permission bits, setuid included (default 0644, 0755 for a directory)
}

// layerOf builds an uncompressed layer from entries.
func layerOf(t *testing.T, entries ...entry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, en := range entries {
		h := &tar.Header{Name: en.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(en.body)), Uid: en.uid, Gid: en.gid}
		if en.mode != 0 {
			h.Mode = en.mode
		}
		switch {
		case en.dir:
			h.Typeflag, h.Size = tar.TypeDir, 0
			if en.mode == 0 {
				h.Mode = 0o755
			}
		case en.link != "":
			h.Typeflag, h.Linkname, h.Mode, h.Size = tar.TypeSymlink, en.link, 0o777, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(en.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// busyboxImage opens the busybox test image for building on top of it.
func busyboxImage(t *testing.T) v1.Image {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(imagePath(t, "busybox"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := idx.IndexManifest()
		if err != nil || len(m.Manifests) == 0 {
			t.Fatalf("busybox layout has no manifest: %v", err)
		}
		d := m.Manifests[0]
		if !d.MediaType.IsIndex() {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
		if idx, err = idx.ImageIndex(d.Digest); err != nil {
			t.Fatal(err)
		}
	}
}

// writeLayout writes img as an OCI layout named ref (e.g. "hostile:latest").
func writeLayout(t *testing.T, img v1.Image, ref string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		t.Fatal(err)
	}
	return dir
}

// busyboxWith loads busybox plus one more layer under the name ref.
func (e *env) busyboxWith(ref string, entries ...entry) {
	e.t.Helper()
	img, err := mutate.AppendLayers(busyboxImage(e.t), layerOf(e.t, entries...))
	if err != nil {
		e.t.Fatal(err)
	}
	e.must("load", "-i", writeLayout(e.t, img, ref))
}

func TestImageSymlinksForProcDevAndEtcDoNotTouchTheHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := t.TempDir()
	procDir, sysDir := filepath.Join(host, "proc-target"), filepath.Join(host, "sys-target")
	files := map[string]string{}
	for _, n := range []string{"null", "hosts", "resolv", "hostname"} {
		files[n] = filepath.Join(host, n)
	}
	for _, d := range []string{procDir, sysDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		if err := os.WriteFile(f, []byte("original\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// One image per kind of link, so that runc refusing one (a /proc that
	// is not a directory) does not hide what happens with the others.
	for ref, layer := range map[string][]entry{
		"hostile-proc:1": {{name: "proc", link: procDir}},
		"hostile-sys:1":  {{name: "sys", link: sysDir}},
		"hostile-files:1": {
			{name: "dev", dir: true},
			{name: "dev/null", link: files["null"]},
			{name: "etc/hosts", link: files["hosts"]},
			{name: "etc/resolv.conf", link: files["resolv"]},
			{name: "etc/hostname", link: files["hostname"]},
		},
	} {
		e.busyboxWith(ref, layer...)
		r := e.run("run", "--rm", ref, "sh", "-c",
			"echo pwned > /dev/null; echo pwned >> /etc/hosts; echo pwned >> /etc/resolv.conf; echo pwned > /etc/hostname; ls /proc/1 /sys >/dev/null; echo done")
		t.Logf("run of %s: %s", ref, r)
	}
	for _, d := range []string{procDir, sysDir} {
		if left := entries(d); len(left) > 0 {
			t.Errorf("host directory %s, the target of an image symlink, was written: %v", d, left)
		}
	}
	for n, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || string(b) != "original\n" {
			t.Errorf("host file %s (target of the image's %s link) changed: %q %v", f, n, b, err)
		}
		if fi, err := os.Lstat(f); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("host file %s is no longer a regular file: %v %v", f, fi.Mode(), err)
		}
	}
	if m := mountsUnder(t, host); len(m) > 0 {
		t.Errorf("mounts landed on host paths the image links to: %v", m)
	}
}

func TestBindMountUnderAbsoluteImageSymlinkStaysInRootfs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := t.TempDir()
	src := filepath.Join(host, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "file"), []byte("from-host-src\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	absTarget := filepath.Join(host, "hostdir-abs")   // does not exist on the host
	etcName := "edgerun-e2e-" + filepath.Base(e.base) // a fresh name under the host's /etc
	e.busyboxWith("linky:latest",
		entry{name: "mnt", dir: true},
		entry{name: "mnt/x", link: absTarget},
		entry{name: "data", link: "/etc"},
	)
	for _, tc := range []struct{ dst, hostPath string }{
		{"/mnt/x/sub", absTarget},
		{"/data/" + etcName, filepath.Join("/etc", etcName)},
	} {
		r := e.run("run", "--rm", "-v", src+":"+tc.dst, "linky", "cat", tc.dst+"/file")
		if _, err := os.Lstat(tc.hostPath); err == nil {
			t.Errorf("-v %s:%s created %s on the host", src, tc.dst, tc.hostPath)
			os.RemoveAll(tc.hostPath)
		}
		if r.code == 0 && strings.TrimSpace(r.stdout) != "from-host-src" {
			t.Errorf("-v %s:%s: the container sees %q", src, tc.dst, r.stdout)
		}
		if r.code != 0 {
			t.Logf("-v onto %s under an image symlink was refused: %s", tc.dst, r)
		}
	}
	if m := mountsUnder(t, host); len(m) > 0 {
		t.Errorf("mounts left on host paths: %v", m)
	}
}

func TestMountsOntoProcSysDevAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	src := t.TempDir()
	for _, flags := range [][]string{
		{"-v", src + ":/proc/sys"},
		{"-v", src + ":/proc/sysrq-trigger"},
		{"-v", src + ":/proc"},
		{"-v", src + ":/tmp/../proc/sys/kernel"},
		{"-v", src + ":/sys/kernel"},
		{"-v", src + ":/sys"},
		{"-v", src + ":/dev/mem"},
		{"--mount", "type=bind,source=" + src + ",target=/proc/sys"},
		{"--mount", "type=tmpfs,target=/sys/fs/cgroup"},
		{"--tmpfs", "/proc/sys/net"},
	} {
		r := e.run(append(append([]string{"run", "--rm"}, flags...), "busybox", "true")...)
		if r.code != 125 {
			t.Errorf("run %v: want refusal with 125, got %s", flags, r)
		}
	}
	if left := entries(src); len(left) > 0 {
		t.Errorf("the mount source was written: %v", left)
	}
}

func TestArm64ImageOnAmd64HostSaysSo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := os.Stat("/proc/sys/fs/binfmt_misc/qemu-aarch64"); err == nil {
		t.Skip("qemu-user binfmt for aarch64 is registered here: arm64 images can run, the refusal does not apply")
	}
	if b, _ := os.ReadFile("/proc/sys/kernel/arch"); strings.TrimSpace(string(b)) != "x86_64" {
		t.Skip("needs an x86-64 host")
	}
	e.must("load", "-i", imagePath(t, "sensor"), "--platform", "linux/arm64", "--name", "sensor-arm:1")
	r := e.run("run", "--rm", "sensor-arm:1")
	if r.code == 0 || !strings.Contains(r.stderr, ": image is linux/arm64 but this host is linux/amd64: load the image for this host's platform (edgerun load --platform linux/amd64), or register a qemu-user binfmt handler for it\n") {
		t.Errorf("want the platform message, got %s", r)
	}
}
