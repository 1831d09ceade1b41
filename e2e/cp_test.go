package e2e

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgerun/edgerun/internal/testenv"
)

// cpEnv is an env with busybox and a stopped container "c" whose tree
// holds a directory, a file, and hostile links to the host's /etc and to
// a sentinel file of this test on the host.
func cpEnv(t *testing.T) (e *env, sentinel string) {
	t.Helper()
	e = newEnv(t)
	e.loadBusybox()
	sentinel = filepath.Join(e.base, "host-secret")
	if err := os.WriteFile(sentinel, []byte("host secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.must("run", "--pull", "never", "--name", "c", "busybox", "sh", "-c",
		"mkdir -p /d/sub && echo f > /d/f && echo g > /d/sub/g && ln -s /etc /evil && ln -s "+sentinel+" /secret && ln -s ../../../../../../.. /up")
	t.Cleanup(func() { e.run("rm", "-f", "c") })
	return e, sentinel
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCpBothWaysOnAStoppedContainer(t *testing.T) {
	t.Parallel()
	e, _ := cpEnv(t)
	out := filepath.Join(e.base, "out")
	e.must("cp", "c:/d", out) // a missing DEST: the directory becomes it
	if got := readFile(t, filepath.Join(out, "sub", "g")); got != "g\n" {
		t.Fatalf("out/sub/g = %q", got)
	}
	e.must("cp", "c:/d", out) // an existing directory receives it by name
	if got := readFile(t, filepath.Join(out, "d", "f")); got != "f\n" {
		t.Fatalf("out/d/f = %q", got)
	}
	content := filepath.Join(e.base, "content")
	if err := os.Mkdir(content, 0o755); err != nil {
		t.Fatal(err)
	}
	e.must("cp", "c:/d/.", content) // /. copies the content
	if got := readFile(t, filepath.Join(content, "f")); got != "f\n" {
		t.Fatalf("content/f = %q", got)
	}
	host := filepath.Join(e.base, "in.txt")
	if err := os.WriteFile(host, []byte("from the host\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.must("cp", host, "c:/d/new.txt")
	e.must("cp", host, "c:/d/sub")
	back := filepath.Join(e.base, "back.txt")
	e.must("cp", "c:/d/new.txt", back)
	if got := readFile(t, back); got != "from the host\n" {
		t.Fatalf("round trip gave %q", got)
	}
	e.must("cp", "c:/d/sub/in.txt", back)
	if got := readFile(t, back); got != "from the host\n" {
		t.Fatalf("a file copied into a directory: %q", got)
	}
	if r := e.run("cp", host, "c:/nodir/"); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("copy to a missing directory: %s", r)
	}
	if r := e.run("cp", "c:/d", host); r.code == 0 || !strings.Contains(r.stderr, "cannot copy a directory") {
		t.Fatalf("a directory over a file: %s", r)
	}
	if r := e.run("cp", "c:/nothing", back); r.code == 0 || !strings.Contains(r.stderr, "no such file") {
		t.Fatalf("a missing source: %s", r)
	}
	if mounts := mountsUnder(t, e.root); len(mounts) != 0 {
		t.Fatalf("cp left mounts: %v", mounts)
	}
}

func TestCpTarStreams(t *testing.T) {
	t.Parallel()
	e, _ := cpEnv(t)
	r := e.run("cp", "c:/d", "-")
	if r.code != 0 {
		t.Fatalf("cp c:/d -: %s", r)
	}
	names := tarNames(t, []byte(r.stdout))
	if strings.Join(names, " ") != "d/ d/f d/sub/ d/sub/g" {
		t.Fatalf("cp c:/d - wrote %q", names)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "streamed/x", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3, Uid: 1234, Gid: 1234}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	if r := e.runIn(buf.Bytes(), "cp", "-", "c:/d"); r.code != 0 {
		t.Fatalf("cp - c:/d: %s", r)
	}
	r = e.run("cp", "c:/d/streamed/x", "-")
	hdrs := tarHeaders(t, []byte(r.stdout))
	if len(hdrs) != 1 || hdrs[0].Uid != 0 || hdrs[0].Gid != 0 {
		t.Fatalf("a streamed file without -a: %+v, want owned by 0:0", hdrs)
	}
	if r := e.runIn(buf.Bytes(), "cp", "-a", "-", "c:/d"); r.code != 0 {
		t.Fatalf("cp -a - c:/d: %s", r)
	}
	hdrs = tarHeaders(t, []byte(e.must("cp", "c:/d/streamed/x", "-")))
	wantUID := 1234
	if testenv.Rootless() {
		wantUID = 0 // rootless cp chowns nothing (docs/cli.md, cp -a): the session's root owns it
	}
	if len(hdrs) != 1 || hdrs[0].Uid != wantUID {
		t.Fatalf("a streamed file with -a: %+v, want owned by %d", hdrs, wantUID)
	}
	if r := e.runIn(buf.Bytes(), "cp", "-", "c:/d/f"); r.code == 0 {
		t.Fatalf("a tar stream into a file was accepted: %s", r)
	}
}

// TestCpHostileLinksStayInTheContainer: links in the container to the
// host's /etc, to a host file and above the root resolve inside the
// container's root file system, for reading and for writing.
func TestCpHostileLinksStayInTheContainer(t *testing.T) {
	t.Parallel()
	e, sentinel := cpEnv(t)
	for _, src := range []string{"c:/secret", "c:/up" + sentinel, "c:/evil/../" + sentinel} {
		for _, flags := range [][]string{nil, {"-L"}} {
			r := e.run(append(append([]string{"cp"}, flags...), src, "-")...)
			if strings.Contains(r.stdout, "host secret") {
				t.Fatalf("cp %v %s read the host's file", flags, src)
			}
		}
	}
	marker := "edgerun-cp-test-" + filepath.Base(e.base)
	hostEtc := filepath.Join("/etc", marker)
	t.Cleanup(func() { os.Remove(hostEtc) })
	in := filepath.Join(e.base, marker)
	if err := os.WriteFile(in, []byte("written\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{"c:/evil/", "c:/evil", "c:/up/etc/", "c:/secret"} {
		e.run("cp", in, dst)
	}
	if _, err := os.Lstat(hostEtc); err == nil {
		t.Fatalf("cp through a link wrote the host's %s", hostEtc)
	}
	if got := readFile(t, sentinel); got != "host secret\n" {
		t.Fatalf("the host's sentinel now holds %q", got)
	}
	// What went through /evil landed in the container's own /etc.
	if got := e.must("cp", "c:/etc/"+marker, "-"); !strings.Contains(got, "written") {
		t.Fatal("cp c:/evil/ did not write the container's /etc")
	}
}

func tarHeaders(t *testing.T, b []byte) []*tar.Header {
	t.Helper()
	var out []*tar.Header
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read tar: %v", err)
		}
		out = append(out, h)
	}
}

func tarNames(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	for _, h := range tarHeaders(t, b) {
		names = append(names, h.Name)
	}
	return names
}

func TestCpRunningContainerAndMounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	vol := filepath.Join(e.base, "vol")
	if err := os.Mkdir(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	e.runD("--pull", "never", "--name", "live", "-v", vol+":/data", "busybox", "sleep", "300")
	t.Cleanup(func() { e.run("rm", "-f", "live") })
	in := filepath.Join(e.base, "in.txt")
	if err := os.WriteFile(in, []byte("to a running container\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.must("cp", in, "live:/tmp/")
	if got := e.must("exec", "live", "cat", "/tmp/in.txt"); got != "to a running container\n" {
		t.Fatalf("the container sees %q", got)
	}
	e.must("exec", "live", "sh", "-c", "echo made inside > /made")
	if got := e.must("cp", "live:/made", "-"); !strings.Contains(got, "made inside") {
		t.Fatalf("cp from a running container: %q", got)
	}
	if r := e.run("cp", in, "live:/data/x"); r.code == 0 || !strings.Contains(r.stderr, "on a mount of the container") {
		t.Fatalf("cp onto a bind mount: %s", r)
	}
}
