package image

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/edgerun/edgerun/internal/armcpu"
)

// HostPlatform is the platform this machine runs: GOOS/GOARCH, and for arm
// the variant the CPU supports (armcpu.Variant: /proc/cpuinfo, else the
// GOARM this binary was built for, else v7); arm64 is reported as v8.
func HostPlatform() ocispec.Platform {
	var cpuinfo io.Reader
	if runtime.GOARCH == "arm" {
		if f, err := os.Open("/proc/cpuinfo"); err == nil {
			defer f.Close()
			cpuinfo = f
		}
	}
	return hostPlatform(runtime.GOOS, runtime.GOARCH, armcpu.BuildGOARM(), cpuinfo)
}

func hostPlatform(goos, goarch, goarm string, cpuinfo io.Reader) ocispec.Platform {
	p := ocispec.Platform{OS: goos, Architecture: goarch}
	switch goarch {
	case "arm64":
		p.Variant = "v8"
	case "arm":
		p.Variant = armcpu.Variant(cpuinfo, goarm)
	}
	return p
}

// ParsePlatform parses "os/arch[/variant]", e.g. "linux/arm/v7".
func ParsePlatform(s string) (ocispec.Platform, error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "/")
	if len(parts) < 2 || len(parts) > 3 {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: use os/arch[/variant], e.g. linux/arm/v7", s)
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != "" {
			return ocispec.Platform{}, fmt.Errorf("invalid platform %q: use os/arch[/variant], e.g. linux/arm/v7", s)
		}
	}
	p := ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return normalizePlatform(p), nil
}

// FormatPlatform renders os/arch[/variant].
func FormatPlatform(p ocispec.Platform) string {
	if p.OS == "" && p.Architecture == "" {
		return "unknown"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// normalizePlatform maps common aliases (aarch64, x86_64, armhf) to the
// GOARCH names images use.
// requestedPlatform is the platform a caller's options ask for, normalized,
// or nil for the zero value (the host's).
func requestedPlatform(p ocispec.Platform) *ocispec.Platform {
	if p.OS == "" && p.Architecture == "" && p.Variant == "" && p.OSVersion == "" && len(p.OSFeatures) == 0 {
		return nil
	}
	n := normalizePlatform(p)
	return &n
}

func normalizePlatform(p ocispec.Platform) ocispec.Platform {
	p.OS = strings.ToLower(p.OS)
	p.Architecture = strings.ToLower(p.Architecture)
	p.Variant = strings.ToLower(p.Variant)
	switch p.Architecture {
	case "aarch64":
		p.Architecture = "arm64"
	case "x86_64", "x86-64":
		p.Architecture = "amd64"
	case "i386", "i686":
		p.Architecture = "386"
	case "armhf":
		p.Architecture, p.Variant = "arm", "v7"
	case "armel":
		p.Architecture, p.Variant = "arm", "v6"
	}
	if p.Architecture == "arm" && p.Variant != "" && !strings.HasPrefix(p.Variant, "v") {
		p.Variant = "v" + p.Variant
	}
	return p
}

// platformScore says how well an image platform fits the wanted one:
// 0 = not at all, higher = better. An arm CPU of variant vN runs images for
// vN and below, preferring the highest; arm64 matches with or without v8.
func platformScore(want, have ocispec.Platform) int {
	want, have = normalizePlatform(want), normalizePlatform(have)
	if want.OS != have.OS || want.Architecture != have.Architecture || have.OS == "" {
		return 0
	}
	switch want.Architecture {
	case "arm":
		w, h := armLevel(want.Variant), armLevel(have.Variant)
		if h < 0 || w < 0 {
			return 0
		}
		if w == 0 { // any arm variant wanted
			return 1 + h
		}
		if h == 0 { // image does not say: assume the baseline
			return 1
		}
		if h > w {
			return 0
		}
		return 1 + h
	case "arm64":
		if v8(want.Variant) == v8(have.Variant) {
			return 2
		}
		return 0
	}
	if want.Variant == have.Variant {
		return 2
	}
	if have.Variant == "" {
		return 1
	}
	return 0
}

func armLevel(v string) int {
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimPrefix(v, "v"))
	if err != nil || n <= 0 {
		return -1
	}
	return n
}

func v8(v string) string {
	if v == "" {
		return "v8"
	}
	return v
}

// selectPlatform picks the manifest of an index that best fits want. The
// error lists what the index offers.
func selectPlatform(manifests []ocispec.Descriptor, want ocispec.Platform) (ocispec.Descriptor, error) {
	best, bestScore := -1, 0
	for i, m := range manifests {
		if m.Platform == nil || !isManifestType(m.MediaType) {
			continue
		}
		if sc := platformScore(want, *m.Platform); sc > bestScore {
			best, bestScore = i, sc
		}
	}
	if best >= 0 {
		return manifests[best], nil
	}
	return ocispec.Descriptor{}, fmt.Errorf("%w: the image has no %s manifest: available: %s: choose one with --platform",
		ErrNoMatchingPlatform, FormatPlatform(want), strings.Join(availablePlatforms(manifests), ", "))
}

func availablePlatforms(manifests []ocispec.Descriptor) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range manifests {
		if m.Platform == nil || m.Platform.OS == "unknown" || !isManifestType(m.MediaType) {
			continue
		}
		s := FormatPlatform(*m.Platform)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		out = []string{"none"}
	}
	return out
}
