package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/edgerun/edgerun/cgroups"
)

// limitControllers are the controllers behind edgerun's limit flags.
var limitControllers = []struct{ name, flags string }{
	{"memory", "--memory"},
	{"cpu", "--cpus, --cpu-shares"},
	{"cpuset", "--cpuset-cpus"},
	{"pids", "--pids-limit"},
}

// cmdlineFix is where a Raspberry Pi (and most ARM boards) sets kernel
// parameters; stats' note gives the same.
const cmdlineFix = cgroups.CmdlineFix

func checkCgroups(root string) []Check {
	h, err := cgroups.Detect(root)
	if err != nil {
		return []Check{{Name: "cgroups", Status: Fail, Detail: err.Error(),
			Fix: "mount the cgroup2 file system: mount -t cgroup2 none /sys/fs/cgroup (systemd and OpenRC do this at boot)"}}
	}
	var present []string
	for c := range h.Controllers {
		present = append(present, c)
	}
	sort.Strings(present)
	c := Check{Name: "cgroups", Status: OK}
	switch h.Mode {
	case cgroups.ModeUnified:
		c.Detail = fmt.Sprintf("cgroup v2 (unified) at %s, controllers: %s", h.UnifiedMount, strings.Join(present, " "))
	default:
		c.Detail = fmt.Sprintf("cgroup %s layout, controllers: %s", h.Mode, strings.Join(present, " "))
		c.Fix = "optional: cgroup v2 is the tested layout; add systemd.unified_cgroup_hierarchy=1 " + cmdlineFix
	}
	checks := []Check{c}
	disabled := kernelCmdline(root)
	for _, lc := range limitControllers {
		if h.Controllers[lc.name] {
			continue
		}
		why := "not enabled"
		if strings.Contains(" "+disabled+" ", " cgroup_disable="+lc.name+" ") {
			why = "disabled by cgroup_disable=" + lc.name + " on the kernel command line"
		}
		checks = append(checks, Check{Name: lc.name, Status: Warn,
			Detail: fmt.Sprintf("the %s cgroup controller is %s: %s cannot be used (containers without it run)", lc.name, why, lc.flags),
			Fix:    fmt.Sprintf("add `%s` %s", cgroups.EnableParam(lc.name), cmdlineFix)})
	}
	return checks
}

// kernelCmdline returns /proc/cmdline ("" when unreadable).
func kernelCmdline(root string) string {
	b, _ := os.ReadFile(filepath.Join(root, "proc/cmdline"))
	return strings.TrimSpace(string(b))
}
