package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// registry is Debian's docker-registry (distribution) on a loopback port,
// with the test images pushed by skopeo.
type registry struct {
	host string
}

func startDockerRegistry(t *testing.T) *registry {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry is not installed (make deps installs it)")
	}
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Skip("skopeo is not installed (make deps installs it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"+
		"storage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), host)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Best effort: the registry only serves this test, from its temp dir.
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // "signal: killed"
	})
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if i == 100 {
			t.Fatalf("docker-registry on %s did not come up: %v", host, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &registry{host: host}
}

// push copies a test image layout (all platforms) into the registry.
func (r *registry) push(t *testing.T, image, ref string) string {
	t.Helper()
	dst := r.host + "/" + ref
	tool(t, "", "skopeo", "copy", "-q", "--all", "--dest-tls-verify=false", "oci:"+imagePath(t, image), "docker://"+dst)
	return dst
}

func TestRunPullMissingFromLoopbackRegistry(t *testing.T) {
	e := newEnv(t)
	reg := startDockerRegistry(t)
	ref := reg.push(t, "sensor", "edge/sensor:1")

	r := e.run("run", "--rm", "--pull=never", ref)
	if r.code != 125 || !strings.Contains(r.stderr, "not in the store") {
		t.Fatalf("run --pull=never of an image not stored: %s", r)
	}
	r = e.run("run", "--rm", ref)
	if r.code != 0 || !strings.Contains(r.stdout, "celsius") {
		t.Fatalf("run --pull=missing (the default): %s", r)
	}
	if !strings.Contains(r.stderr, "Pulling "+ref) {
		t.Errorf("run did not report its pull on stderr: %s", r)
	}
	if names := e.imageNames(); len(names) != 1 || names[0] != ref {
		t.Fatalf("images after run: %v, want [%s]", names, ref)
	}
	r = e.run("run", "--rm", "--pull=missing", ref)
	if r.code != 0 || strings.Contains(r.stderr, "Pulling") {
		t.Fatalf("second run pulled again or failed: %s", r)
	}
	r = e.run("run", "--rm", "--pull=always", ref, "read")
	if r.code != 0 || !strings.Contains(r.stderr, "Pulling") {
		t.Fatalf("run --pull=always: %s", r)
	}
	// -q: the pull happens, and says nothing.
	r = e.run("run", "--rm", "-q", "--pull=always", ref, "read")
	if r.code != 0 || strings.Contains(r.stderr, "Pulling") || !strings.Contains(r.stdout, "celsius") {
		t.Fatalf("run -q --pull=always: %s, want the reading and no pull progress", r)
	}
	r = e.run("run", "--rm", "--pull=sometimes", ref)
	if r.code != 125 || !strings.Contains(r.stderr, "use missing, always or never") {
		t.Fatalf("run --pull=sometimes: %s", r)
	}
}

func TestPullPlatformDigestAndErrors(t *testing.T) {
	e := newEnv(t)
	reg := startDockerRegistry(t)
	ref := reg.push(t, "sensor", "edge/sensor:1")
	out := e.must("pull", "--platform", "linux/arm/v7", ref)
	if !strings.Contains(out, "Digest: sha256:") {
		t.Fatalf("pull output: %s", out)
	}
	var imgs []struct{ Name, Platform, Digest string }
	if err := json.Unmarshal([]byte(e.must("images", "--format", "json")), &imgs); err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Platform != "linux/arm/v7" {
		t.Fatalf("images: %+v, want the linux/arm/v7 image", imgs)
	}
	bb := reg.push(t, "busybox", "edge/busybox:latest")
	if out := e.must("pull", "-q", bb); out != "" {
		t.Errorf("pull -q printed %q", out)
	}
	var bbImgs []struct{ Name, Digest string }
	if err := json.Unmarshal([]byte(e.must("images", "--format", "json")), &bbImgs); err != nil {
		t.Fatal(err)
	}
	var full string
	for _, im := range bbImgs {
		if strings.Contains(im.Name, "busybox") {
			full = im.Digest
		}
	}
	pinned := reg.host + "/edge/busybox@" + full
	if r := e.run("run", "--rm", "--pull=always", pinned, "true"); r.code != 0 {
		t.Fatalf("run by digest %s: %s", pinned, r)
	}

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"pull", reg.host + "/edge/nosuch:1"}, "not in the registry"},
		{[]string{"pull", reg.host + "/edge/sensor:2"}, "not in the registry"},
		{[]string{"pull", "--platform", "linux/riscv64", ref}, "linux/arm/v7"},
		{[]string{"pull", "--retries", "0", "127.0.0.1:1/edge/sensor:1"}, "127.0.0.1:1"},
		{[]string{"pull", "--retries", "-1", ref}, "invalid --retries"},
		{[]string{"pull", "--format", "yaml", ref}, "only json"},
	}
	for _, tc := range tests {
		r := e.run(tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("edgerun %s: %s\nwant an error saying %q", strings.Join(tc.args, " "), r, tc.want)
		}
	}
}

// slowProxy forwards to the registry, sending blob bodies at about 1 MB/s
// and counting the blob bytes it sent.
type slowProxy struct {
	mu   sync.Mutex
	sent int64
}

func (p *slowProxy) start(t *testing.T, target string) string {
	u, _ := url.Parse("http://" + target)
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if strings.Contains(resp.Request.URL.Path, "/blobs/") && resp.Request.Method == http.MethodGet {
			resp.Body = &slowBody{ReadCloser: resp.Body, p: p}
		}
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

type slowBody struct {
	io.ReadCloser
	p *slowProxy
}

func (b *slowBody) Read(buf []byte) (int, error) {
	time.Sleep(30 * time.Millisecond)
	n, err := b.ReadCloser.Read(buf[:min(len(buf), 32<<10)])
	b.p.mu.Lock()
	b.p.sent += int64(n)
	b.p.mu.Unlock()
	return n, err
}

func TestPullKilledMidLayerResumes(t *testing.T) {
	e := newEnv(t)
	reg := startDockerRegistry(t)
	reg.push(t, "sensor", "edge/sensor:1")
	proxy := &slowProxy{}
	slow := proxy.start(t, reg.host)
	ref := slow + "/edge/sensor:1"

	// First pull: killed (SIGKILL) once the layer is partly on disk.
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := e.command(ctx, "pull", "--format", "json", ref)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var layer string
	var size int64
	var badLine error
	for sc.Scan() {
		var ev struct {
			Event   string
			Digest  string
			Size    int64
			Current int64
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			badLine = fmt.Errorf("pull --format json printed %q: %w", sc.Text(), err)
			break
		}
		if ev.Event == "progress" && ev.Current > 256<<10 && ev.Current < ev.Size {
			layer, size = ev.Digest, ev.Size
			break
		}
	}
	// The pull may have ended already, and Wait reports the kill: what
	// the pull left on disk is checked below.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if badLine != nil {
		t.Fatal(badLine)
	}
	if layer == "" {
		t.Fatal("the first pull finished before it could be interrupted")
	}
	partial, err := os.Stat(filepath.Join(e.root, "ingest", strings.TrimPrefix(layer, "sha256:")))
	if err != nil || partial.Size() == 0 || partial.Size() >= size {
		t.Fatalf("no partial layer kept after kill -9: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.root, "blobs", "sha256", strings.TrimPrefix(layer, "sha256:"))); err == nil {
		t.Fatal("a partial layer is visible in blobs/")
	}
	if names := e.imageNames(); len(names) != 0 {
		t.Fatalf("images after a killed pull: %v", names)
	}

	// Second pull: continues from the partial file with a Range request.
	proxy.mu.Lock()
	proxy.sent = 0
	proxy.mu.Unlock()
	out := e.must("pull", "--format", "json", ref)
	if !strings.Contains(out, fmt.Sprintf(`"digest":%q,"size":%d,"current":%d}`, layer, size, partial.Size())) {
		t.Errorf("second pull did not report resuming at %d bytes:\n%s", partial.Size(), out)
	}
	proxy.mu.Lock()
	sent := proxy.sent
	proxy.mu.Unlock()
	// The config blob is already stored, so only the layer's rest is sent.
	if want := size - partial.Size(); sent != want {
		t.Fatalf("second pull fetched %d blob bytes, want the %d missing ones (%d of %d were on disk)", sent, want, partial.Size(), size)
	}
	if r := e.run("run", "--rm", "--pull=never", ref); r.code != 0 || !strings.Contains(r.stdout, "celsius") {
		t.Fatalf("run the resumed image: %s", r)
	}
}

func TestConcurrentPullsOfOneImage(t *testing.T) {
	e := newEnv(t)
	reg := startDockerRegistry(t)
	ref := reg.push(t, "sensor", "edge/sensor:1")
	var wg sync.WaitGroup
	results := make([]result, 3)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.run("pull", "-q", ref)
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 {
			t.Fatalf("pull %d: %s", i, r)
		}
	}
	if names := e.imageNames(); len(names) != 1 || names[0] != ref {
		t.Fatalf("images after concurrent pulls: %v", names)
	}
	if left := entries(filepath.Join(e.root, "ingest")); len(left) != 0 {
		t.Fatalf("ingest/ left after concurrent pulls: %v", left)
	}
	if r := e.run("run", "--rm", "--pull=never", ref); r.code != 0 || !strings.Contains(r.stdout, "celsius") {
		t.Fatalf("run: %s", r)
	}
}
