package rootfs

import "testing"

func TestUnpackOptionsZeroMeansDefault(t *testing.T) {
	cases := []struct {
		name string
		opts UnpackOptions
		want unpackConfig
	}{
		{"zero", UnpackOptions{},
			unpackConfig{maxBytes: DefaultMaxBytes, maxEntries: DefaultMaxEntries, zstdWindow: DefaultZstdWindow, privileged: Privileged()}},
		{"limits as given", UnpackOptions{MaxBytes: 1 << 20, MaxEntries: 2, ZstdWindow: 1 << 10},
			unpackConfig{maxBytes: 1 << 20, maxEntries: 2, zstdWindow: 1 << 10, privileged: Privileged()}},
		{"rootless", UnpackOptions{Rootless: true, MediaType: "m", DiffID: "sha256:x"},
			unpackConfig{diffID: "sha256:x", mediaType: "m", maxBytes: DefaultMaxBytes, maxEntries: DefaultMaxEntries, zstdWindow: DefaultZstdWindow}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := *newUnpackConfig(tc.opts); got != tc.want {
				t.Fatalf("config %+v, want %+v", got, tc.want)
			}
		})
	}
}
