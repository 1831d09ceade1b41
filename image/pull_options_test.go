package image

import (
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestPullOptionsZeroMeansDefault(t *testing.T) {
	cases := []struct {
		name     string
		opts     PullOptions
		retries  int
		parallel int
		backoff  time.Duration
	}{
		{"zero", PullOptions{}, DefaultPullRetries, DefaultPullParallel, time.Second},
		{"one attempt: no retry", PullOptions{Attempts: 1}, 0, DefaultPullParallel, time.Second},
		{"attempts count the first try", PullOptions{Attempts: 3}, 2, DefaultPullParallel, time.Second},
		{"negative attempts: one try", PullOptions{Attempts: -2}, 0, DefaultPullParallel, time.Second},
		{"parallel as given", PullOptions{Parallel: 7}, DefaultPullRetries, 7, time.Second},
		{"negative parallel: one", PullOptions{Parallel: -1}, DefaultPullRetries, 1, time.Second},
		{"backoff as given", PullOptions{Backoff: time.Millisecond}, DefaultPullRetries, DefaultPullParallel, time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newPullConfig(tc.opts)
			if c.retries != tc.retries || c.parallel != tc.parallel || c.backoff != tc.backoff {
				t.Fatalf("retries %d, parallel %d, backoff %v; want %d, %d, %v",
					c.retries, c.parallel, c.backoff, tc.retries, tc.parallel, tc.backoff)
			}
			if c.platform != nil || c.diskSpace == nil {
				t.Fatalf("platform %v, diskSpace set %v: want the host's and statfs", c.platform, c.diskSpace != nil)
			}
		})
	}
}

func TestPullOptionsPlatformIsNormalized(t *testing.T) {
	c := newPullConfig(PullOptions{Platform: ocispec.Platform{OS: "Linux", Architecture: "aarch64"}})
	if c.platform == nil || FormatPlatform(*c.platform) != "linux/arm64" {
		t.Fatalf("platform %v, want linux/arm64", c.platform)
	}
}
