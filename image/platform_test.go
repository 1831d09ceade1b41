package image

import (
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestParseReference(t *testing.T) {
	cases := []struct{ in, want string }{
		{"busybox", "docker.io/library/busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36"},
		{"sensor:1.2", "docker.io/library/sensor:1.2"},
		{"docker.io/busybox", "docker.io/library/busybox:latest"},
		{"index.docker.io/library/busybox:latest", "docker.io/library/busybox:latest"},
		{"me/app", "docker.io/me/app:latest"},
		{"localhost:5000/x/y@sha256:" + strings.Repeat("a", 64), "localhost:5000/x/y@sha256:" + strings.Repeat("a", 64)},
		{"ghcr.io/org/img:v1", "ghcr.io/org/img:v1"},
		{"Bad", ""},
		{"a b", ""},
		{"x@sha256:../../x", ""},
		{"", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseReference(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("accepted %q as %q", tc.in, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestParseFormatPlatform(t *testing.T) {
	cases := []struct{ in, want string }{
		{"linux/amd64", "linux/amd64"},
		{"linux/arm/v7", "linux/arm/v7"},
		{"linux/arm/7", "linux/arm/v7"},
		{"Linux/ARM64/v8", "linux/arm64/v8"},
		{"linux/aarch64", "linux/arm64"},
		{"linux/x86_64", "linux/amd64"},
		{"linux/armhf", "linux/arm/v7"},
		{"linux", ""},
		{"linux/arm/v7/x", ""},
		{"linux//v7", ""},
		{"linux/a b", ""},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			p, err := ParsePlatform(tc.in)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("accepted %q", tc.in)
				}
				return
			}
			if err != nil || FormatPlatform(p) != tc.want {
				t.Fatalf("got %q, %v; want %q", FormatPlatform(p), err, tc.want)
			}
		})
	}
}

func TestHostPlatformArmVariant(t *testing.T) {
	cases := []struct {
		name, arch, goarm, cpuinfo, want string
	}{
		{"amd64", "amd64", "", "", "linux/amd64"},
		{"arm64 is v8", "arm64", "", "", "linux/arm64/v8"},
		{"pi zero cpuinfo", "arm", "6", "processor\t: 0\nCPU architecture: 6TEJ\n", "linux/arm/v6"},
		{"pi 3 cpuinfo beats GOARM", "arm", "6", "model name\t: ARMv7 Processor rev 4 (v7l)\nCPU architecture: 7\n", "linux/arm/v7"},
		{"pi zero reporting architecture 7 is v6", "arm", "7", "processor\t: 0\nmodel name\t: ARMv6-compatible processor rev 7 (v6l)\nBogoMIPS\t: 697.95\nCPU architecture: 7\n", "linux/arm/v6"},
		{"old kernel Processor line", "arm", "7", "Processor\t: ARMv6-compatible processor rev 7 (v6l)\nCPU architecture: 7\n", "linux/arm/v6"},
		{"armv8 cpu in 32-bit mode", "arm", "7", "CPU architecture: 8\n", "linux/arm/v8"},
		{"no cpuinfo: GOARM", "arm", "6,softfloat", "", "linux/arm/v6"},
		{"nothing known: v7", "arm", "", "", "linux/arm/v7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r *strings.Reader
			p := hostPlatform("linux", tc.arch, tc.goarm, nil)
			if tc.cpuinfo != "" {
				r = strings.NewReader(tc.cpuinfo)
				p = hostPlatform("linux", tc.arch, tc.goarm, r)
			}
			if got := FormatPlatform(p); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	if HostPlatform().OS == "" {
		t.Fatal("HostPlatform has no OS")
	}
}

func TestSelectPlatform(t *testing.T) {
	d := func(p string) ocispec.Descriptor {
		pl, _ := ParsePlatform(p)
		return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Platform: &pl, Annotations: map[string]string{"p": p}}
	}
	all := []ocispec.Descriptor{d("linux/amd64"), d("linux/arm/v6"), d("linux/arm/v7"), d("linux/arm64")}
	cases := []struct {
		name  string
		index []ocispec.Descriptor
		want  string
		pick  string // "" for no match
	}{
		{"amd64", all, "linux/amd64", "linux/amd64"},
		{"armv6 gets v6, not v7", all, "linux/arm/v6", "linux/arm/v6"},
		{"armv7 prefers v7", all, "linux/arm/v7", "linux/arm/v7"},
		{"armv7 falls back to v6", all[:2], "linux/arm/v7", "linux/arm/v6"},
		{"armv6 cannot run v7", []ocispec.Descriptor{d("linux/arm/v7")}, "linux/arm/v6", ""},
		{"arm64/v8 matches arm64", all, "linux/arm64/v8", "linux/arm64"},
		{"arm64 matches arm64/v8", []ocispec.Descriptor{d("linux/arm64/v8")}, "linux/arm64", "linux/arm64/v8"},
		{"arm64 does not take arm", []ocispec.Descriptor{d("linux/arm/v7")}, "linux/arm64/v8", ""},
		{"os must match", all, "windows/amd64", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, _ := ParsePlatform(tc.want)
			got, err := selectPlatform(tc.index, want)
			if tc.pick == "" {
				if err == nil {
					t.Fatalf("picked %s", got.Annotations["p"])
				}
				return
			}
			if err != nil || got.Annotations["p"] != tc.pick {
				t.Fatalf("picked %q, %v; want %s", got.Annotations["p"], err, tc.pick)
			}
		})
	}
}
