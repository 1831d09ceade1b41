package rootfs

import (
	"reflect"
	"testing"
)

func TestUnpackOptionsZeroMeansDefault(t *testing.T) {
	cases := []struct {
		name string
		opts UnpackOptions
		want unpackConfig
	}{
		{"zero", UnpackOptions{},
			unpackConfig{maxBytes: DefaultMaxBytes, maxEntries: DefaultMaxEntries, zstdWindow: DefaultZstdWindow,
				maxRatio: DefaultMaxRatio, privileged: Privileged()}},
		{"limits as given", UnpackOptions{MaxBytes: 1 << 20, MaxEntries: 2, ZstdWindow: 1 << 10, MaxRatio: 7, MinFree: 5},
			unpackConfig{maxBytes: 1 << 20, maxEntries: 2, zstdWindow: 1 << 10, maxRatio: 7, minFree: 5, privileged: Privileged()}},
		{"no ratio limit, no free-space check", UnpackOptions{MaxRatio: -1, MinFree: -1},
			unpackConfig{maxBytes: DefaultMaxBytes, maxEntries: DefaultMaxEntries, zstdWindow: DefaultZstdWindow,
				maxRatio: 0, minFree: -1, privileged: Privileged()}},
		{"rootless", UnpackOptions{Rootless: true, MediaType: "m", DiffID: "sha256:x"},
			unpackConfig{diffID: "sha256:x", mediaType: "m", maxBytes: DefaultMaxBytes, maxEntries: DefaultMaxEntries,
				zstdWindow: DefaultZstdWindow, maxRatio: DefaultMaxRatio}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := *newUnpackConfig(tc.opts)
			if got.diskSpace == nil {
				t.Fatal("no free-space probe: want statfs by default")
			}
			got.diskSpace = nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("config %+v, want %+v", got, tc.want)
			}
		})
	}
}
