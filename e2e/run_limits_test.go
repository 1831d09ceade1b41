package e2e

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/edgerun/edgerun/internal/lockfile"
)

// TestRunTakesTheLayerLimitsOfLoadAndPull: run --pull accepts load's and
// pull's --max-layer-ratio and --min-free and keeps them, in its pull and
// when it unpacks a layer gone from the cache again.
func TestRunTakesTheLayerLimitsOfLoadAndPull(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// 32 MiB of zeros gzip to 32 KiB: a thousand to one.
	img, err := mutate.AppendLayers(busyboxImage(t), layerOf(t, entry{name: "zeros", body: string(make([]byte, 32<<20))}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/test/bomb:1"
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("push to %s: %v", ref, err)
	}

	res := e.run("run", "--rm", ref, "true")
	if res.code != 125 || !strings.Contains(res.stderr, "times its compressed size") || !strings.Contains(res.stderr, "--max-layer-ratio") {
		t.Fatalf("run --pull missing of a bomb: %s", res)
	}
	res = e.run("run", "--rm", "--max-layer-ratio", "0", "--min-free", "1000000g", ref, "true")
	if res.code != 125 || !strings.Contains(res.stderr, "not enough disk space") || !strings.Contains(res.stderr, "--min-free") {
		t.Fatalf("run --min-free above the free space: %s", res)
	}
	if res := e.run("run", "--rm", "--min-free", "plenty", ref, "true"); res.code != 125 || !strings.Contains(res.stderr, "invalid --min-free") {
		t.Fatalf("run --min-free plenty: %s", res)
	}
	e.must("run", "--rm", "--max-layer-ratio", "0", ref, "true")

	// The layers lost from the cache: run unpacks them again, within its
	// limits.
	layers := filepath.Join(e.root, "layers", "sha256")
	for _, l := range entries(layers) {
		if err := os.RemoveAll(filepath.Join(layers, l)); err != nil {
			t.Fatal(err)
		}
	}
	res = e.run("run", "--rm", "--pull", "never", ref, "true")
	if res.code != 125 || !strings.Contains(res.stderr, "times its compressed size") {
		t.Fatalf("run of a stored bomb whose layers are gone: %s", res)
	}
	e.must("run", "--rm", "--pull", "never", "--max-layer-ratio", "0", ref, "true")
}

// TestContainerCommandsSayWhoseLockTheyWait: stop, start and rm of a
// container another process holds locked, and a run while the layer cache
// is locked, wait and say for whom, as image commands do.
func TestContainerCommandsSayWhoseLockTheyWait(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.loadBusybox()
	id := e.runD("--name", "locked", "--init", "busybox", "sleep", "1000")
	ctrLock := filepath.Join(e.state, "locks", id+".lock")
	holder := " held by PID " + strconv.Itoa(os.Getpid()) + " ("
	for _, tc := range []struct {
		lock string
		args []string
	}{
		{ctrLock, []string{"stop", "-t", "2", "locked"}},
		{ctrLock, []string{"start", "locked"}},
		{ctrLock, []string{"rm", "-f", "locked"}},
		{filepath.Join(e.root, "layers", "cache.lock"), []string{"run", "--rm", "busybox", "true"}},
	} {
		e.waitsForLock(tc.lock, holder, tc.args...)
	}
}

// waitsForLock runs edgerun with lock held by the test, waits for its
// notice naming the lock and holder, lets the lock go and requires exit 0.
func (e *env) waitsForLock(lock, holder string, args ...string) {
	t := e.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	held, err := lockfile.Exclusive(ctx, lock)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	cmd := e.command(ctx, args...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stop := e.watchIDs()
	defer stop()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	want := "edgerun: waiting for lock " + lock + holder
	waitUntil(t, strings.Join(args, " ")+" to say whose lock it waits for", func() bool {
		return strings.Contains(stderr.String(), want)
	})
	held.Unlock()
	if code := exitCode(t, cmd.Wait()); code != 0 {
		t.Fatalf("%s after the lock was let go: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
}
