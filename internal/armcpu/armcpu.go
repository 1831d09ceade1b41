// Package armcpu tells which ARM architecture version a 32-bit ARM host
// runs. Image platform selection (image.HostPlatform) and the host report
// (doctor) both ask it, so the report names the variant images resolve to.
package armcpu

import (
	"bufio"
	"io"
	"runtime/debug"
	"strings"
)

// Variant returns the OCI platform variant ("v6", "v7", "v8") of a 32-bit
// ARM host: the version /proc/cpuinfo gives (cpuinfo may be nil), else the
// GOARM the binary was built for ("6" or "6,softfloat"), else v7.
func Variant(cpuinfo io.Reader, goarm string) string {
	if v := cpuVersion(cpuinfo); v != "" {
		return v
	}
	if n, _, _ := strings.Cut(goarm, ","); n != "" {
		return "v" + n
	}
	return "v7"
}

// BuildGOARM returns the GOARM recorded in this binary's build info ("" when
// it was not built for 32-bit ARM).
func BuildGOARM() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range bi.Settings {
		if s.Key == "GOARM" {
			return s.Value
		}
	}
	return ""
}

// cpuVersion reads the ARM version from cpuinfo: "CPU architecture: 7"
// (or "5TEJ"), except that an ARMv6 core (model name "ARMv6-compatible
// processor rev 7 (v6l)", as on the Raspberry Pi Zero and 1) is v6 although
// the kernel reports "CPU architecture: 7" for it: v7 programs would stop
// there with an illegal instruction.
func cpuVersion(r io.Reader) string {
	if r == nil {
		return ""
	}
	arch := ""
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "model name", "Processor":
			if strings.HasPrefix(v, "ARMv6") || strings.HasSuffix(v, "(v6l)") {
				return "v6"
			}
		case "CPU architecture":
			if arch == "" {
				arch = archVersion(v)
			}
		}
	}
	return arch
}

// archVersion turns "7" or "5TEJ" into "v7" or "v5"; "" when it has no number.
func archVersion(v string) string {
	n := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' })
	if n == 0 {
		return ""
	}
	if n > 0 {
		v = v[:n]
	}
	return "v" + v
}
