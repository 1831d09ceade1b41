package image

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/edgerun/edgerun/internal/diskspace"
)

func TestPullByTagAndDigest(t *testing.T) {
	reg := startRegistry(t, nil)
	img := bigImage(t, 4096, 8192)
	ref := reg.push(t, "test/app:v1", img)
	want := digest.Digest(mustDigest(t, img))

	tests := []struct {
		name, ref string
	}{
		{"tag", ref},
		{"digest", reg.host + "/test/app@" + want.String()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			var unpacked []digest.Digest
			var mu sync.Mutex
			res, err := s.Pull(bg, tc.ref, pullOpts(PullOptions{Unpack: func(_ context.Context, l Layer) error {
				mu.Lock()
				defer mu.Unlock()
				unpacked = append(unpacked, l.Desc.Digest)
				return nil
			}}))
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest != want {
				t.Fatalf("pulled %s, want %s", res.Digest, want)
			}
			got, err := s.Get(tc.ref)
			if err != nil {
				t.Fatalf("pulled image not found by its reference: %v", err)
			}
			if got.Digest != want || len(got.Manifest.Layers) != 2 {
				t.Fatalf("stored %s with %d layers", got.Digest, len(got.Manifest.Layers))
			}
			if len(unpacked) != 2 {
				t.Fatalf("unpack called for %d layers, want 2", len(unpacked))
			}
			if n := blobCount(t, s); n != 4 { // manifest, config, 2 layers
				t.Fatalf("%d blobs stored, want 4", n)
			}
			assertClean(t, s)
		})
	}
}

func TestPullMultiArchSelectsPlatform(t *testing.T) {
	reg := startRegistry(t, nil)
	idx, imgs := multiArch(t, "linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm/v6")
	ref := reg.push(t, "test/sensor:1", idx)
	tests := []struct {
		platform, want string
	}{
		{"linux/arm/v7", "linux/arm/v7"},
		{"linux/arm/v6", "linux/arm/v6"},
		{"linux/arm64", "linux/arm64"},
		{"linux/amd64", "linux/amd64"},
	}
	for _, tc := range tests {
		t.Run(tc.platform, func(t *testing.T) {
			s := newStore(t)
			p, _ := ParsePlatform(tc.platform)
			res, err := s.Pull(bg, ref, pullOpts(PullOptions{Platform: p}))
			if err != nil {
				t.Fatal(err)
			}
			if want := mustDigest(t, imgs[tc.want]); res.Digest.String() != want {
				t.Fatalf("pulled %s, want the %s manifest %s", res.Digest, tc.want, want)
			}
			if FormatPlatform(res.Platform) != tc.want {
				t.Fatalf("platform %s, want %s", FormatPlatform(res.Platform), tc.want)
			}
		})
	}
	t.Run("no match", func(t *testing.T) {
		s := newStore(t)
		p, _ := ParsePlatform("linux/riscv64")
		_, err := s.Pull(bg, ref, pullOpts(PullOptions{Platform: p}))
		if !errors.Is(err, ErrNoMatchingPlatform) || !strings.Contains(err.Error(), "linux/arm/v7") {
			t.Fatalf("err = %v, want ErrNoMatchingPlatform listing the platforms", err)
		}
		if n := blobCount(t, s); n != 0 {
			t.Fatalf("%d blobs stored after a refused pull", n)
		}
	})
}

func TestPullConcurrentSameImage(t *testing.T) {
	reg := startRegistry(t, nil)
	img := bigImage(t, 1<<20, 1<<20, 512<<10)
	ref := reg.push(t, "test/app:v1", img)
	s := newStore(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Pull(bg, ref, pullOpts(PullOptions{}))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pull %d: %v", i, err)
		}
	}
	if _, err := s.Get(ref); err != nil {
		t.Fatal(err)
	}
	if n := blobCount(t, s); n != 5 {
		t.Fatalf("%d blobs, want 5", n)
	}
	assertClean(t, s)
}

func TestPullLayerFailureLeavesNoName(t *testing.T) {
	reg := startRegistry(t, nil)
	ref := reg.push(t, "test/app:v1", bigImage(t, 4096))
	s := newStore(t)
	_, err := s.Pull(bg, ref, pullOpts(PullOptions{Unpack: func(context.Context, Layer) error {
		return errors.New("hostile layer")
	}}))
	if err == nil || !strings.Contains(err.Error(), "hostile layer") {
		t.Fatalf("err = %v, want the unpack error", err)
	}
	if _, err := s.Get(ref); !errors.Is(err, ErrNotFound) {
		t.Fatalf("image named although a layer failed: %v", err)
	}
}

func TestPullNotFoundAndUnauthorized(t *testing.T) {
	reg := startRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/v2/private/") {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`))
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	reg.push(t, "test/app:v1", bigImage(t, 100))
	tests := []struct {
		ref  string
		want error
	}{
		{reg.host + "/test/app:nosuchtag", ErrNotFound},
		{reg.host + "/test/nosuchrepo:v1", ErrNotFound},
		{reg.host + "/private/app:v1", ErrUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			s := newStore(t)
			_, err := s.Pull(bg, tc.ref, pullOpts(PullOptions{}))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestPullRefusesNoSpaceWithNumbers(t *testing.T) {
	reg := startRegistry(t, nil)
	ref := reg.push(t, "test/app:v1", bigImage(t, 2_000_000, 1_000_000))
	// docs/cli.md's messages, without a reserve (--min-free 0) and with one
	for _, tc := range []struct {
		minFree int64
		want    string
	}{
		{-1, "pull %s: not enough disk space: the image needs about 12 MB (3 MB to download, 9 MB unpacked), 1 MB free on %s: free space (edgerun image prune) or use another --root"},
		{500_000, "pull %s: not enough disk space: the image needs about 12 MB (3 MB to download, 9 MB unpacked), 1 MB free on %s, which must keep 1 MB free: free space (edgerun image prune), lower the reserve (--min-free) or use another --root"},
	} {
		s := newStore(t)
		_, err := s.Pull(bg, ref, pullOpts(PullOptions{
			DiskSpace: func(string) (diskspace.Usage, error) { return diskspace.Usage{Avail: 1_000_000, Total: 1 << 40}, nil },
			MinFree:   tc.minFree,
			Unpack:    func(context.Context, Layer) error { return nil },
		}))
		if !errors.Is(err, ErrNoSpace) {
			t.Fatalf("err = %v, want ErrNoSpace", err)
		}
		if want := fmt.Sprintf(tc.want, ref, s.Root()); err.Error() != want {
			t.Errorf("error %q, want %q", err, want)
		}
		if _, err := s.Get(ref); !errors.Is(err, ErrNotFound) {
			t.Fatalf("image named after a refused pull: %v", err)
		}
	}
}
