package rootfs

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	digest "github.com/opencontainers/go-digest"
)

// bombSize is above RatioFloor, so the ratio limit applies, and small
// enough to unpack quickly when a test lifts the limit.
const bombSize = 24 << 20

func zstdBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zeroLayer is an uncompressed layer holding one file of n zero bytes.
func zeroLayer(t testing.TB, n int) []byte {
	return buildTar(t, file("zeros", string(make([]byte, n))))
}

// sizeless hides a reader's size, as a network stream would.
type sizeless struct{ io.Reader }

func TestUnpackRefusesBombsByRatio(t *testing.T) {
	raw := zeroLayer(t, bombSize)
	for _, tc := range []struct {
		name string
		blob []byte
		wrap func(io.Reader) io.Reader
	}{
		{"gzip", gzipBytes(t, raw), nil},
		{"zstd", zstdBytes(t, raw), nil},
		{"zstd of unknown size", zstdBytes(t, raw), func(r io.Reader) io.Reader { return sizeless{r} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			var r io.Reader = bytes.NewReader(tc.blob)
			if tc.wrap != nil {
				r = tc.wrap(r)
			}
			_, err := Unpack(context.Background(), r, s.dst, UnpackOptions{})
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "times its compressed size") {
				t.Fatalf("Unpack of a %d-byte bomb = %v, want ErrTooLarge for its ratio", len(tc.blob), err)
			}
			if fi, err := os.Stat(filepath.Join(s.dst, "zeros")); err == nil && fi.Size() >= bombSize {
				t.Fatalf("the bomb was unpacked whole (%d bytes) before it was refused", fi.Size())
			}
		})
	}
}

func TestUnpackRatioLimitCanBeRaisedOrLifted(t *testing.T) {
	raw := zeroLayer(t, bombSize)
	blob := gzipBytes(t, raw)
	for _, ratio := range []int{-1, 2000} {
		s := newSandbox(t)
		st, err := Unpack(context.Background(), bytes.NewReader(blob), s.dst, UnpackOptions{MaxRatio: ratio})
		if err != nil || st.DiffID != digest.FromBytes(raw) {
			t.Fatalf("MaxRatio %d: Unpack = %+v, %v; want the whole layer", ratio, st, err)
		}
	}
}

func TestUnpackKeepsRealLayersWithinTheRatio(t *testing.T) {
	// Text-like content (four symbols: 2 bits of entropy per byte) gzips
	// about 4:1, as source trees and locales do; small layers (a directory,
	// an empty file) compress far beyond the limit but stay under the floor.
	rng := rand.New(rand.NewPCG(1, 2))
	text := make([]byte, bombSize)
	for i := range text {
		text[i] = "ACGT"[rng.IntN(4)]
	}
	for name, blob := range map[string][]byte{
		"text":        gzipBytes(t, buildTar(t, file("genome.txt", string(text)))),
		"a directory": zstdBytes(t, buildTar(t, dir("app"))),
		"small zeros": gzipBytes(t, zeroLayer(t, 4<<20)),
	} {
		s := newSandbox(t)
		if _, err := Unpack(context.Background(), bytes.NewReader(blob), s.dst, UnpackOptions{}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestEnsureRefusesABombAndPublishesNothing(t *testing.T) {
	root := filepath.Join(t.TempDir(), "layers")
	c, err := OpenCache(root, CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw := zeroLayer(t, bombSize)
	blob := zstdBytes(t, raw)
	l := Layer{DiffID: digest.FromBytes(raw), MediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(blob)), nil }}
	if _, err := c.Ensure(context.Background(), []Layer{l}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Ensure of a bomb = %v, want ErrTooLarge", err)
	}
	for _, d := range []string{filepath.Join(root, "staging"), filepath.Join(root, "sha256")} {
		if ents, _ := os.ReadDir(d); len(ents) != 0 {
			t.Fatalf("%s not empty after a refused bomb: %v", d, ents)
		}
	}
}
