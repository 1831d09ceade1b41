package doctor

import (
	"fmt"
	"strings"

	"github.com/edgerun/edgerun/internal/armcpu"
)

// checkArch reports the platform images resolve to, and the two ARM traps:
// an ARMv6 CPU (Raspberry Pi Zero and 1) whose kernel reports "CPU
// architecture: 7" in /proc/cpuinfo, and a 32-bit userland on a 64-bit
// kernel (Raspberry Pi OS 32-bit on a Pi 3/4/5).
func checkArch(o Options) []Check {
	machine, _ := readTrim(o.HostRoot, "proc/sys/kernel/arch")
	if machine == "" {
		machine = o.Machine
	}
	c := Check{Name: "arch", Status: OK}
	switch o.GOARCH {
	case "arm":
		return checkARM32(o, machine)
	case "arm64":
		c.Detail = fmt.Sprintf("linux/arm64 (kernel %s)", machine)
	default:
		c.Detail = fmt.Sprintf("linux/%s (kernel %s)", o.GOARCH, machine)
	}
	return []Check{c}
}

func checkARM32(o Options, machine string) []Check {
	cpuinfo, _ := readTrim(o.HostRoot, "proc/cpuinfo")
	reported := cpuinfoField(cpuinfo, "CPU architecture")
	model := cpuinfoField(cpuinfo, "model name")
	if model == "" {
		model = cpuinfoField(cpuinfo, "Processor")
	}
	// The variant images resolve to (image.HostPlatform asks the same).
	actual := strings.TrimPrefix(armcpu.Variant(strings.NewReader(cpuinfo), o.GOARM), "v")
	c := Check{Name: "arch", Status: OK,
		Detail: fmt.Sprintf("linux/arm/v%s (edgerun built for GOARM=%s, kernel %s, CPU %q)", actual, o.GOARM, machine, model)}
	if reported != "" && !strings.HasPrefix(reported, actual) {
		c.Detail = fmt.Sprintf("linux/arm/v%s: the CPU is ARMv%s (%q, kernel %s) although /proc/cpuinfo reports CPU architecture %s; "+
			"edgerun selects linux/arm/v%s images from multi-arch indexes", actual, actual, model, machine, reported, actual)
	}
	checks := []Check{c}
	if machine == "aarch64" || machine == "arm64" {
		checks = append(checks, Check{Name: "userland", Status: OK,
			Detail: fmt.Sprintf("32-bit edgerun (linux/arm/v%s) on a 64-bit kernel (%s): images resolve to 32-bit ARM; "+
				"the arm64 edgerun binary would run linux/arm64 images on this kernel", actual, machine)})
	}
	return checks
}

// cpuinfoField returns the first value of a "key : value" line.
func cpuinfoField(cpuinfo, key string) string {
	for line := range strings.SplitSeq(cpuinfo, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
